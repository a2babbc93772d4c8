"""Converters from Markdown, HTML, PDF and plain text to one light Markdown form (headings, blocks, lists)."""

from __future__ import annotations

import io
import re

from knowledge.html_doc import convert_html, row_line
from knowledge.markdown_doc import convert_markdown
from knowledge.types import Converted

__all__ = ["Converted", "convert_html", "convert_markdown", "convert_pdf", "convert_text"]

_ATX = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+")


def _paragraphs(lines: list[str]) -> str:
    """Re-flow hard-wrapped lines into one line per paragraph/list item; tables become sentences."""
    out: list[str] = []
    para: list[str] = []
    header: list[str] | None = None
    in_fence = False

    def flush() -> None:
        if para:
            out.append(" ".join(para))
            para.clear()

    for line in lines:
        if _FENCE.match(line):
            flush()
            in_fence = not in_fence
            continue
        stripped = line.strip()
        if in_fence:
            if stripped:
                out.append(stripped)
            continue
        heading = _ATX.match(line)
        if heading:
            flush()
            header = None
            out.append(f"{heading.group(1)} {heading.group(2).strip()}")
            continue
        if stripped.startswith("|") or (header is not None and "|" in stripped):
            flush()
            cells = [c.strip() for c in stripped.strip("|").split("|")]
            if _TABLE_RULE.match(stripped):
                continue
            if header is None:
                header = cells
                continue
            out.append(row_line(header, cells))
            continue
        header = None
        if not stripped:
            flush()
            continue
        if _LIST_ITEM.match(line) or stripped.startswith(">"):
            flush()
            stripped = stripped.lstrip("> ").strip()
            item = _LIST_ITEM.match(stripped)
            if item:  # keep one normalised marker so the answer can quote the list as a list
                number = item.group(0).strip().rstrip(".)")
                marker = f"{number}. " if number.isdigit() else "- "
                stripped = marker + stripped[item.end() :]
        para.append(stripped)
    flush()
    return "\n\n".join(p for p in (re.sub(r"\s+", " ", x).strip() for x in out) if p)


def convert_text(raw: str) -> Converted:
    return Converted(title=None, text=_paragraphs(raw.splitlines()))


def convert_pdf(data: bytes) -> Converted:
    """Text of every page (pypdf); the document title comes from the PDF metadata when present."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    pages = [page.extract_text() or "" for page in reader.pages]
    meta_title = reader.metadata.title if reader.metadata else None
    lines: list[str] = []
    for page in pages:
        lines.extend(page.splitlines())
        lines.append("")
    return Converted(title=str(meta_title).strip() if meta_title else None, text=_paragraphs(lines))
