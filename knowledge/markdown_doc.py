"""Markdown (and MDX) to light Markdown with markdown-it-py, keeping lists, numbered steps and table rows."""

from __future__ import annotations

import re
from typing import Any

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token

from knowledge.html_doc import html_blocks, row_line
from knowledge.types import Converted

_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.DOTALL)
# Template languages of static-site generators (Liquid, Nunjucks, Hugo, Jinja) are not Markdown.
_TEMPLATE_COMMENT = re.compile(r"\{%-?\s*comment\s*-?%\}.*?\{%-?\s*endcomment\s*-?%\}", re.DOTALL)
_SHORTCODE = re.compile(r"\{%.*?%\}|\{\{.*?\}\}|\{#.*?#\}", re.DOTALL)
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
# MDX module lines (import/export statements) are code, not prose.
_MDX_STATEMENT = re.compile(r"^(?:import\s.+\sfrom\s|import\s+['\"]|export\s+(?:const|default|function|let)\b)")
_BREAK_TAG = re.compile(r"<\s*br\s*/?\s*>", re.IGNORECASE)


def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark").enable(["table", "strikethrough"])


def front_matter(raw: str) -> tuple[dict[str, Any], str]:
    """(YAML front matter as a dict, the body after it); an unreadable block is treated as absent."""
    match = _FRONT_MATTER.match(raw)
    if not match:
        return {}, raw
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        meta = None
    return (meta if isinstance(meta, dict) else {}), raw[match.end() :]


def _meta_text(meta: dict[str, Any], key: str) -> str | None:
    value = meta.get(key)
    if isinstance(value, str | int | float) and str(value).strip():
        return str(value).strip()
    return None


def _inline(token: Token) -> str:
    """Plain text of an inline token: link text without its URL, image alt text, inline HTML dropped."""
    out: list[str] = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            out.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            out.append(" ")
        elif child.type == "image":
            out.append(child.content or "")
        elif child.type == "html_inline" and _BREAK_TAG.fullmatch(child.content.strip()):
            out.append(" ")
    return " ".join("".join(out).split())


class _Walker:
    """Turns the token stream into block lines ("#" headings, paragraphs, "- " / "N. " items, table rows)."""

    def __init__(self) -> None:
        self.blocks: list[str] = []
        self.lists: list[list[int]] = []  # [is_ordered, next number] per open list
        self.item_open = False  # the current list item has not written its first line yet
        self.prefix = ""
        self.heading = 0
        self.header: list[str] = []
        self.row: list[str] | None = None
        self.in_head = False

    def walk(self, tokens: list[Token]) -> list[str]:
        for token in tokens:
            self.step(token)
        return self.blocks

    def step(self, token: Token) -> None:
        kind = token.type
        if kind == "heading_open":
            self.heading = int(token.tag[1])
        elif kind == "heading_close":
            self.heading = 0
        elif kind in ("bullet_list_open", "ordered_list_open"):
            start = token.attrGet("start")
            self.lists.append([kind == "ordered_list_open", int(start) if isinstance(start, int) else 1])
        elif kind in ("bullet_list_close", "ordered_list_close"):
            if self.lists:
                self.lists.pop()
        elif kind == "list_item_open":
            self.item_open = True
            if self.lists and self.lists[-1][0]:
                self.prefix = f"{self.lists[-1][1]}. "
                self.lists[-1][1] += 1
            else:
                self.prefix = "- "
        elif kind == "thead_open":
            self.in_head, self.header = True, []
        elif kind == "thead_close":
            self.in_head = False
        elif kind == "tr_open":
            self.row = []
        elif kind == "tr_close" and self.row is not None:
            if self.in_head:
                self.header = self.row
            elif any(self.row):
                self.blocks.append(row_line(self.header, self.row))
            self.row = None
        elif kind == "inline":
            self.text(_inline(token))
        elif kind in ("fence", "code_block"):
            self.blocks.extend(line.strip() for line in token.content.splitlines() if line.strip())
        elif kind == "html_block":
            self.blocks.extend(html_blocks(token.content)[0])

    def text(self, text: str) -> None:
        if self.row is not None:
            self.row.append(text)
        elif not text:
            return
        elif self.heading:
            self.blocks.append("#" * self.heading + " " + text)
        elif self.lists and self.item_open:
            self.blocks.append(self.prefix + text)
            self.item_open = False
        elif self.lists and self.blocks:
            self.blocks[-1] += " " + text  # a second paragraph of the same list item
        else:
            self.blocks.append(text)


def convert_markdown(raw: str) -> Converted:
    """Strip front matter (keeping its title and url/permalink) and template shortcodes, then parse."""
    meta, body = front_matter(raw)
    body = _TEMPLATE_COMMENT.sub("", body)
    body = _SHORTCODE.sub("", body)
    body = _HTML_COMMENT.sub("", body)
    body = "\n".join(line for line in body.splitlines() if not _MDX_STATEMENT.match(line))
    blocks = _Walker().walk(_parser().parse(body))
    text = "\n\n".join(b for b in (" ".join(x.split()) for x in blocks) if b)
    url = _meta_text(meta, "url") or _meta_text(meta, "permalink")
    return Converted(title=_meta_text(meta, "title"), text=text, url=url)
