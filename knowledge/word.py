"""Word (.docx) documents → the light Markdown form the chunker reads: headings, paragraphs, table rows."""

from __future__ import annotations

import io
import re
from typing import Any

from knowledge.formats import Converted

_HEADING_STYLE = re.compile(r"^heading\s*([1-6])$", re.IGNORECASE)


def convert_docx(data: bytes) -> Converted:
    """Body paragraphs and tables in document order. "Heading N" styles become "#" headings (the
    chunker splits on them); the title is the core property, else the first "Title"-styled paragraph."""
    import docx  # python-docx (lxml): imported only when a Word file is indexed
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    document = docx.Document(io.BytesIO(data))
    title: str | None = (document.core_properties.title or "").strip() or None
    blocks: list[str] = []
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            text = " ".join(item.text.split())
            if not text:
                continue
            style = (item.style.name if item.style is not None else "") or ""
            level = _HEADING_STYLE.match(style.strip())
            if style.strip().lower() == "title":
                title = title or text
                blocks.append(f"# {text}")
            elif level:
                blocks.append(f"{'#' * int(level.group(1))} {text}")
            else:
                blocks.append(text)
        elif isinstance(item, Table):
            blocks.extend(_table_lines(item))
    return Converted(title=title, text="\n\n".join(blocks))


def _table_lines(table: Any) -> list[str]:
    """One readable line per data row ("Header: value; Header: value."), the first row being the header."""
    rows = [[" ".join(cell.text.split()) for cell in row.cells] for row in table.rows]
    if len(rows) < 2:
        return [" | ".join(c for c in row if c) for row in rows if any(row)]
    header, lines = rows[0], []
    for row in rows[1:]:
        parts = [f"{h}: {c}" if h else c for h, c in zip(header, row, strict=False) if c]
        if parts:
            lines.append("; ".join(parts) + ".")
    return lines
