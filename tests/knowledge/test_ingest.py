"""Ingestion of each supported format, stripping of template syntax, and skipping of bad files."""

from __future__ import annotations

import logging
from pathlib import Path

import matplotlib

matplotlib.use("pdf")
import matplotlib.pyplot as plt
import pytest

from knowledge.ingest import Document, Skipped, load_documents


def _write(root: Path, rel: str, content: str | bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _by_source(docs: list[Document]) -> dict[str, Document]:
    return {d.source: d for d in docs}


MARKDOWN = """---
title: Parking Rules
owner: Facilities
---

{% alert %}
Visitors must sign in at reception.
{% endalert %}

{% comment %}Internal note: never shown.{% endcomment %}
<!-- reviewer: remove before publishing -->

# Parking Rules

Employees park on level {{ site.level }} 2 of the garage. See the [map](https://example.com/map.png).

## Bikes

Bike racks are **next to** the north door.

| Vehicle | Bay |
|---------|-----|
| Car | B7 |
"""


def test_markdown_front_matter_title_and_template_syntax_stripped(tmp_path: Path) -> None:
    _write(tmp_path, "facilities/parking.md", MARKDOWN)
    docs, skipped = load_documents([tmp_path])
    assert skipped == []
    doc = _by_source(docs)["facilities/parking.md"]
    assert doc.title == "Parking Rules"
    assert "owner:" not in doc.text and "Facilities" not in doc.text
    for leftover in ("{%", "%}", "{{", "}}", "<!--", "Internal note", "https://example.com"):
        assert leftover not in doc.text
    assert "Visitors must sign in at reception." in doc.text  # content inside a paired shortcode stays
    assert "Employees park on level 2 of the garage. See the map." in doc.text
    assert "## Bikes" in doc.text
    assert "Bike racks are next to the north door." in doc.text
    assert "Vehicle: Car; Bay: B7." in doc.text  # table rows become readable lines
    assert len(doc.doc_hash) == 64


def test_plain_text_html_and_pdf(tmp_path: Path) -> None:
    _write(tmp_path, "notes/wifi.txt", "The office Wi-Fi is called\nLarkspur-Guest.\n\nIt resets weekly.")
    _write(
        tmp_path,
        "web/holidays.html",
        "<html><head><title>Holiday Calendar</title><style>p{color:red}</style>"
        "<script>var secret = 'x';</script></head><body><h1>Holiday Calendar</h1>"
        "<h2>Winter</h2><p>The office closes on 24&nbsp;December &amp; reopens on 2 January.</p></body></html>",
    )
    fig = plt.figure(figsize=(8.5, 11))
    plt.rcParams["pdf.fonttype"] = 42  # TrueType keeps the text extractable
    fig.text(0.1, 0.9, "Visitors park in bay 7 for up to 4 hours.")
    pdf_path = tmp_path / "pdf" / "parking.pdf"
    pdf_path.parent.mkdir()
    fig.savefig(pdf_path, metadata={"Title": "Visitor Parking"})
    plt.close(fig)

    docs, skipped = load_documents([tmp_path])
    assert skipped == []
    by = _by_source(docs)
    txt = by["notes/wifi.txt"]
    assert txt.title == "Wifi"
    assert "The office Wi-Fi is called Larkspur-Guest." in txt.text  # hard-wrapped lines re-flowed
    html = by["web/holidays.html"]
    assert html.title == "Holiday Calendar"
    assert "## Winter" in html.text
    assert "closes on 24 December & reopens on 2 January." in html.text
    assert "secret" not in html.text and "color" not in html.text
    pdf = by["pdf/parking.pdf"]
    assert pdf.title == "Visitor Parking"
    assert "bay 7 for up to 4 hours" in pdf.text


def test_bad_files_are_skipped_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _write(tmp_path, "good.md", "# Good\n\nA fine document.")
    _write(tmp_path, "image.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    _write(tmp_path, "broken.pdf", b"%PDF-1.4 this is not really a pdf")
    _write(tmp_path, "slides.pptx", b"PK\x03\x04")
    _write(tmp_path, "empty.md", "---\ntitle: Empty\n---\n{% include 'x.html' %}\n")
    _write(tmp_path, ".hidden/secret.md", "# Hidden\n\nnot indexed")
    with caplog.at_level(logging.WARNING, logger="knowledge.ingest"):
        docs, skipped = load_documents([tmp_path])
    assert [d.source for d in docs] == ["good.md"]
    reasons = {s.source: s.reason for s in skipped}
    assert reasons["image.md"] == "binary content (not text)"
    assert reasons["broken.pdf"].startswith("could not be parsed")
    assert reasons["slides.pptx"] == "unsupported file type .pptx"
    assert reasons["empty.md"] == "no text content"
    assert ".hidden/secret.md" not in reasons
    logged = caplog.text
    for source in reasons:
        assert f"skipped {source}:" in logged


def test_sources_are_relative_to_their_own_root(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    _write(a, "hr/leave.md", "# Leave\n\nTwenty days.")
    _write(b, "ap/invoices.md", "# Invoices\n\nNet 30.")
    _write(b, "hr/leave.md", "# Other leave\n\nTen days.")
    docs, _ = load_documents([a, b])
    assert sorted(d.source for d in docs) == ["ap/invoices.md", "b/hr/leave.md", "hr/leave.md"]


def test_missing_source_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="knowledge source folder not found"):
        load_documents([tmp_path / "nope"])


def test_skipped_type_is_reported_not_raised(tmp_path: Path) -> None:
    _write(tmp_path, "data.bin", b"\x00\x01")
    docs, skipped = load_documents([tmp_path])
    assert docs == [] and skipped == [Skipped("data.bin", "unsupported file type .bin")]
