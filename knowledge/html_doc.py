"""HTML to light Markdown with the standard library's HTML parser: headings, paragraphs, lists, table rows."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from knowledge.types import Converted

_HEADING_TAG = re.compile(r"h[1-6]")
_SKIP = frozenset({"script", "style", "noscript", "template", "svg", "head"})
_BREAK = frozenset({"p", "div", "br", "section", "article", "main", "header", "footer", "dd", "dt", "pre"})
_BREAK |= frozenset({"blockquote", "figure", "figcaption", "aside", "nav", "hr"})


def row_line(header: list[str], cells: list[str]) -> str:
    """One table row read with its header: 'Header: value; Header: value.'"""
    parts = []
    for i, cell in enumerate(cells):
        if not cell:
            continue
        name = header[i] if i < len(header) and header[i] and header[i] != cell else ""
        parts.append(f"{name}: {cell}" if name else cell)
    line = "; ".join(parts)
    return line if not line or line.endswith((".", "!", "?", ":")) else line + "."


class _Blocks(HTMLParser):
    """Collects one line per block; list items keep a "- " or "N. " marker so a list stays a list."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self.current: list[str] = []
        self.prefix = ""
        self.skip_depth = 0
        self.title: str | None = None
        self.in_title = False
        self.heading_level = 0
        self.lists: list[list[int]] = []  # one [is_ordered, counter] per open list
        self.header: list[str] = []
        self.row: list[str] | None = None
        self.cell: list[str] | None = None
        self.row_is_header = False

    def flush(self) -> None:
        text = " ".join("".join(self.current).split())
        if text:
            if self.heading_level:
                self.blocks.append("#" * self.heading_level + " " + text)
            else:
                self.blocks.append(self.prefix + text)
        self.current = []
        self.prefix = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip_depth += 1
        elif tag == "title":
            self.in_title = True
        elif _HEADING_TAG.fullmatch(tag):
            self.flush()
            self.heading_level = int(tag[1])
        elif tag in ("ul", "ol"):
            self.flush()
            self.lists.append([tag == "ol", 0])
        elif tag == "li":
            self.flush()
            if self.lists and self.lists[-1][0]:
                self.lists[-1][1] += 1
                self.prefix = f"{self.lists[-1][1]}. "
            else:
                self.prefix = "- "
        elif tag == "tr":
            self.flush()
            self.row, self.row_is_header = [], False
        elif tag in ("td", "th") and self.row is not None:
            self.cell = []
            self.row_is_header = self.row_is_header or tag == "th"
        elif tag in _BREAK:
            self.flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag == "title":
            self.in_title = False
        elif _HEADING_TAG.fullmatch(tag):
            self.flush()
            self.heading_level = 0
        elif tag in ("ul", "ol"):
            self.flush()
            if self.lists:
                self.lists.pop()
        elif tag in ("td", "th") and self.row is not None and self.cell is not None:
            self.row.append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "tr" and self.row is not None:
            if self.row_is_header and not self.header:
                self.header = self.row
            elif any(self.row):
                self.blocks.append(row_line(self.header, self.row))
            self.row = None
        elif tag == "table":
            self.header = []
        elif tag in _BREAK or tag == "li":
            self.flush()

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title = (self.title or "") + data.strip()
        elif self.skip_depth:
            return
        elif self.cell is not None:
            self.cell.append(data)
        else:
            self.current.append(data)


def html_blocks(raw: str) -> tuple[list[str], str | None]:
    """(block lines, the <title>) of an HTML document or fragment."""
    parser = _Blocks()
    parser.feed(raw)
    parser.close()
    parser.flush()
    return parser.blocks, parser.title or None


def convert_html(raw: str) -> Converted:
    """Visible text of an HTML page; h1–h6 become Markdown headings, scripts and styles are dropped."""
    blocks, title = html_blocks(raw)
    return Converted(title=title, text="\n\n".join(blocks))
