"""Structural parsing (lists, steps, tables survive), answer spans, and citation URLs."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.compose import Composer, spans_of
from knowledge.extract import Analyzer
from knowledge.formats import convert_html, convert_markdown
from knowledge.types import Chunk, Hit
from knowledge.urls import SourceUrlError, UrlResolver, git_base, parse_source_urls, slug

MARKDOWN = """---
title: Expenses
permalink: /money/expenses/
---

# Expenses

To file a claim:

1. Open the **Claims** app.
2. Attach the [receipt](https://example.com/r).
3. Submit before the *5th* of the month.

| Item | Limit |
|------|-------|
| Hotel | $200 per night |
| Meals | $60 per day |

- one
  - nested `code`

{% alert %}Keep receipts for {{ years }} 7 years.{% endalert %}

<div><ul><li>html item</li></ul></div>
"""


def test_markdown_keeps_steps_lists_and_table_rows_with_their_header() -> None:
    out = convert_markdown(MARKDOWN)
    blocks = out.text.split("\n\n")
    assert out.title == "Expenses" and out.url == "/money/expenses/"
    assert "To file a claim:" in blocks
    assert blocks[blocks.index("To file a claim:") + 1 : blocks.index("To file a claim:") + 4] == [
        "1. Open the Claims app.",
        "2. Attach the receipt.",
        "3. Submit before the 5th of the month.",
    ]
    assert "Item: Hotel; Limit: $200 per night." in blocks
    assert "Item: Meals; Limit: $60 per day." in blocks
    assert "- one" in blocks and "- nested code" in blocks
    assert "Keep receipts for 7 years." in blocks
    assert "- html item" in blocks
    assert "https://example.com" not in out.text and "{%" not in out.text


def test_html_lists_and_tables_are_structural() -> None:
    page = (
        "<html><head><title>Travel</title><style>p{}</style></head><body><h2>Per diem</h2>"
        "<p>Rates:</p><ol><li>Domestic</li><li>Abroad</li></ol>"
        "<table><tr><th>Region</th><th>Rate</th></tr><tr><td>EU</td><td>&euro;80</td></tr></table>"
        "<script>var x = 1;</script></body></html>"
    )
    out = convert_html(page)
    assert out.title == "Travel"
    assert out.text.split("\n\n") == ["## Per diem", "Rates:", "1. Domestic", "2. Abroad", "Region: EU; Rate: €80."]


def test_mdx_module_lines_are_not_text() -> None:
    out = convert_markdown("import Foo from './foo'\nexport const meta = {}\n\nReal text here.\n\n<Foo prop='x' />\n")
    assert out.text == "Real text here."


def _hit(text: str, heading: str = "Claims") -> Hit:
    chunk = Chunk(0, "a.md", "Expenses", heading, text, "d", "c", "https://x.example/a#claims")
    return Hit(chunk=chunk, score=1.0, dense=0.6, rank=1)


def test_an_answer_quotes_a_whole_list_with_its_lead_in() -> None:
    text = (
        "Claims are reviewed weekly by finance staff.\n"
        "To file a claim:\n1. Open the Claims app.\n2. Attach the receipt.\n3. Submit before the 5th of the month.\n"
        "Unrelated words about parking garages follow here."
    )
    analyzer = Analyzer.from_texts([text, "parking garages", "office plants"], None)
    spans = spans_of(text, analyzer)
    assert [len(s.lines) for s in spans] == [1, 4, 1]
    body, order = Composer(analyzer).compose(analyzer.question("How do I file a claim?"), [_hit(text)])
    assert order == [0]
    assert "To file a claim:\n1. Open the Claims app.\n2. Attach the receipt.\n3. Submit before the 5th" in body
    assert body.endswith("[1]") and "parking" not in body


def test_a_long_list_is_cut_to_its_best_items_within_the_chat_budget() -> None:
    items = "\n".join(f"- Item number {i} is about topic {i} with filler words to make it long" for i in range(40))
    text = "Here are the items:\n" + items + "\n- The laptop refresh happens every 3 years"
    analyzer = Analyzer.from_texts([text, "other"], None)
    body, _ = Composer(analyzer, max_chars=300).compose(
        analyzer.question("how often is the laptop refresh"), [_hit(text)]
    )
    assert "every 3 years" in body and body.startswith("Here are the items:")
    assert len(body) < 400


def test_slug_and_source_url_setting() -> None:
    assert slug("Per diem & meals (2026)") == "per-diem--meals-2026"
    assert parse_source_urls("handbook=https://h.example.com/, wiki=https://w.example.com") == {
        "handbook": "https://h.example.com/",
        "wiki": "https://w.example.com",
    }
    with pytest.raises(SourceUrlError):
        parse_source_urls("handbook")


def test_document_urls_from_front_matter_setting_and_git_remote(tmp_path: Path) -> None:
    site = tmp_path / "handbook"
    (site / "money").mkdir(parents=True)
    (site / "money" / "expenses.md").write_text("x")
    resolver = UrlResolver([site], {"handbook": "https://h.example.com/"})
    assert resolver.document("money/expenses.md", None) == "https://h.example.com/money/expenses"
    assert resolver.document("money/expenses.md", "/spend/") == "https://h.example.com/spend/"
    assert resolver.document("money/expenses.md", "https://elsewhere.example/x") == "https://elsewhere.example/x"
    assert UrlResolver.section("https://h.example.com/money/expenses", "Claims > Per diem") == (
        "https://h.example.com/money/expenses#per-diem"
    )
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "docs").mkdir()
    (repo / "docs" / "a.md").write_text("x")
    (repo / ".git" / "config").write_text('[remote "origin"]\n\turl = git@github.com:acme/handbook.git\n')
    assert git_base(repo / "docs") == "https://github.com/acme/handbook/blob/HEAD/docs/"
    assert UrlResolver([repo / "docs"]).document("a.md", None) == "https://github.com/acme/handbook/blob/HEAD/docs/a.md"
    (repo / ".git" / "config").write_text('[remote "origin"]\n\turl = https://user:secret@git.example.com/a/b.git\n')
    assert git_base(repo) == "https://git.example.com/a/b/blob/HEAD/"
    assert UrlResolver([tmp_path / "nowhere"]).document("a.md", None) is None
