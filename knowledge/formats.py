"""Converters from Markdown, HTML, PDF and plain text to one light Markdown form (headings + paragraphs)."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from html.parser import HTMLParser

import yaml


@dataclass(frozen=True)
class Converted:
    title: str | None  # None when the document names no title of its own
    text: str  # "#"-style heading lines and paragraphs separated by blank lines


_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_TEMPLATE_COMMENT = re.compile(r"\{%-?\s*comment\s*-?%\}.*?\{%-?\s*endcomment\s*-?%\}", re.DOTALL)
_SHORTCODE = re.compile(r"\{%.*?%\}|\{\{.*?\}\}|\{#.*?#\}", re.DOTALL)
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_BLOCK_TAG = re.compile(r"<\s*(?:br|/p|/div|/li|/tr|/h[1-6]|/table|/ul|/ol)\s*/?\s*>", re.IGNORECASE)
_CELL_TAG = re.compile(r"<\s*/t[dh]\s*>", re.IGNORECASE)
_ANY_TAG = re.compile(r"</?[a-zA-Z][^<>]*>")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\((?:[^()]|\([^)]*\))*\)")
_REF_LINK = re.compile(r"\[([^\]]+)\]\[[^\]]*\]")
_LINK_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s+\S+.*$", re.MULTILINE)
_EMPHASIS = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1|(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_ATX = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+")


def convert_markdown(raw: str) -> Converted:
    """Strip front matter (keeping its title), template shortcodes, HTML and link syntax."""
    title: str | None = None
    match = _FRONT_MATTER.match(raw)
    if match:
        raw = raw[match.end() :]
        try:
            meta = yaml.safe_load(match.group(1))
        except yaml.YAMLError:
            meta = None
        if isinstance(meta, dict) and isinstance(meta.get("title"), str | int | float):
            title = str(meta["title"]).strip() or None
    text = _TEMPLATE_COMMENT.sub("", raw)
    text = _SHORTCODE.sub("", text)
    text = _HTML_COMMENT.sub("", text)
    text = _CELL_TAG.sub(" | ", text)
    text = _BLOCK_TAG.sub("\n", text)
    text = _ANY_TAG.sub("", text)
    text = _LINK_DEF.sub("", text)
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _REF_LINK.sub(r"\1", text)
    text = _EMPHASIS.sub(lambda m: m.group(2) or m.group(3) or "", text)
    text = text.replace("`", "")
    text = text.replace("&nbsp;", " ").replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    return Converted(title=title, text=_paragraphs(text.splitlines()))


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
            out.append(_row_sentence(header, cells))
            continue
        header = None
        if not stripped:
            flush()
            continue
        if _LIST_ITEM.match(line) or stripped.startswith(">"):
            flush()
            stripped = _LIST_ITEM.sub("", stripped.lstrip("> ").strip())
        para.append(stripped)
    flush()
    return "\n\n".join(p for p in (re.sub(r"\s+", " ", x).strip() for x in out) if p)


def _row_sentence(header: list[str], cells: list[str]) -> str:
    """Turn one table row into a readable line: 'Header: value; Header: value.'"""
    parts = []
    for i, cell in enumerate(cells):
        if not cell:
            continue
        name = header[i] if i < len(header) and header[i] else ""
        parts.append(f"{name}: {cell}" if name else cell)
    line = "; ".join(parts)
    return line if line.endswith((".", "!", "?")) else line + "."


def convert_text(raw: str) -> Converted:
    return Converted(title=None, text=_paragraphs(raw.splitlines()))


class _HtmlText(HTMLParser):
    _SKIP = frozenset({"script", "style", "noscript", "template", "svg"})
    _BREAK = frozenset({"p", "div", "li", "tr", "br", "section", "article", "table", "ul", "ol", "dd", "dt"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.skip_depth = 0
        self.title: str | None = None
        self.in_title = False
        self.heading_level = 0

    def _flush(self) -> None:
        text = " ".join("".join(self.current).split())
        if text:
            prefix = "#" * self.heading_level + " " if self.heading_level else ""
            self.lines.append(prefix + text)
        self.current = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self.skip_depth += 1
        if tag == "title":
            self.in_title = True
        if tag in self._BREAK or re.fullmatch(r"h[1-6]", tag):
            self._flush()
            self.heading_level = int(tag[1]) if re.fullmatch(r"h[1-6]", tag) else 0
        if tag in ("td", "th"):
            self.current.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self.skip_depth = max(0, self.skip_depth - 1)
        if tag == "title":
            self.in_title = False
        if tag in self._BREAK or re.fullmatch(r"h[1-6]", tag):
            self._flush()
            self.heading_level = 0

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title = (self.title or "") + data.strip()
            return
        if not self.skip_depth:
            self.current.append(data)


def convert_html(raw: str) -> Converted:
    """Visible text of an HTML page; h1–h6 become Markdown headings, scripts and styles are dropped."""
    parser = _HtmlText()
    parser.feed(raw)
    parser.close()
    parser._flush()
    text = "\n\n".join(parser.lines)
    return Converted(title=parser.title or None, text=text)


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
