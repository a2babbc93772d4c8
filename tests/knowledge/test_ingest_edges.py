"""Reading the knowledge folders safely: Word files, legacy encodings, symlinks out of the roots, empty folders."""

from __future__ import annotations

from pathlib import Path

import docx
import pytest

from knowledge.embedder import Embedder
from knowledge.errors import NoDocuments
from knowledge.index import build_index, index_status
from knowledge.ingest import Skipped, load_documents


def _write(root: Path, rel: str, content: str | bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _word_file(path: Path) -> None:
    document = docx.Document()
    document.core_properties.title = "Travel Policy"
    document.add_heading("Booking", level=1)
    document.add_paragraph("Book flights through Navan at least 14 days ahead.")
    document.add_heading("Per diem", level=2)
    table = document.add_table(rows=3, cols=2)
    for row, (city, rate) in zip(
        table.rows, [("City", "Daily rate"), ("Berlin", "EUR 60"), ("Austin", "USD 75")], strict=True
    ):
        row.cells[0].text, row.cells[1].text = city, rate
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))


def test_word_documents_are_read_with_headings_and_tables(tmp_path: Path) -> None:
    _word_file(tmp_path / "travel" / "policy.docx")
    docs, skipped = load_documents([tmp_path])
    assert skipped == []
    [doc] = docs
    assert doc.source == "travel/policy.docx" and doc.title == "Travel Policy"
    assert "# Booking" in doc.text and "## Per diem" in doc.text
    assert "Book flights through Navan at least 14 days ahead." in doc.text
    assert "City: Berlin; Daily rate: EUR 60." in doc.text


def test_a_broken_word_file_is_skipped_not_fatal(tmp_path: Path) -> None:
    _write(tmp_path, "broken.docx", b"PK\x03\x04 not really a zip")
    _write(tmp_path, "renamed.docx", b"plain text in disguise")
    docs, skipped = load_documents([tmp_path])
    reasons = {s.source: s.reason for s in skipped}
    assert docs == []
    assert reasons["broken.docx"].startswith("could not be parsed")
    assert reasons["renamed.docx"] == "not a Word .docx file (not a zip archive)"


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
def test_legacy_encodings_are_detected_not_skipped(tmp_path: Path, encoding: str) -> None:
    text = (
        "# Café allowance\n\nEmployees may claim the crème brûlée budget of 12 € per week; the "
        "façade café near reception accepts the staff card. Naïve spending outside it is not reimbursed.\n"
    )
    if encoding == "latin-1":
        text = text.replace("€", "EUR")  # Latin-1 has no euro sign
    _write(tmp_path, "perks/cafe.md", text.encode(encoding))
    docs, skipped = load_documents([tmp_path])
    assert skipped == []
    [doc] = docs
    assert "crème brûlée" in doc.text and "façade café" in doc.text
    assert doc.title == "Café allowance"


def test_binary_content_is_still_refused(tmp_path: Path) -> None:
    _write(tmp_path, "image.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    docs, skipped = load_documents([tmp_path])
    assert docs == [] and skipped == [Skipped("image.md", "binary content (not text)")]


def test_symlinks_never_lead_out_of_the_knowledge_folders(tmp_path: Path) -> None:
    root, outside = tmp_path / "kb", tmp_path / "private"
    _write(root, "hr/leave.md", "# Leave\n\nTwenty days a year.")
    _write(outside, "secret.md", "# Secrets\n\nThe root password is hunter2.")
    _write(outside, "more/payroll.md", "# Payroll\n\nEveryone's salary.")
    (root / "hr" / "secret.md").symlink_to(outside / "secret.md")
    (root / "linked-folder").symlink_to(outside / "more", target_is_directory=True)
    (root / "hr" / "alias.md").symlink_to(root / "hr" / "leave.md")  # inside the root: fine
    docs, skipped = load_documents([root])
    texts = " ".join(d.text for d in docs)
    assert "hunter2" not in texts and "salary" not in texts
    assert sorted(d.source for d in docs) == ["hr/alias.md", "hr/leave.md"]
    reasons = {s.source: s.reason for s in skipped}
    assert reasons == {
        "hr/secret.md": "symbolic link leading outside the knowledge folders",
        "linked-folder": "symbolic link to a folder (not followed)",
    }


@pytest.mark.parametrize("contents", [{}, {"slides.pptx": b"PK\x03\x04", "notes.bin": b"\x00\x01"}])
def test_nothing_to_index_keeps_the_published_index(
    tmp_path: Path, embedder: Embedder, contents: dict[str, bytes]
) -> None:
    good, out = tmp_path / "good", tmp_path / "index"
    _write(good, "vpn.md", "# VPN\n\nInstall the Tunnelbear client from the portal.")
    first = build_index([good], out, embedder)
    empty = tmp_path / "empty"
    empty.mkdir()
    for name, data in contents.items():
        _write(empty, name, data)
    with pytest.raises(NoDocuments, match="no documents to index") as caught:
        build_index([empty], out, embedder)
    assert "published index is unchanged" in str(caught.value)
    if contents:
        assert "2 files skipped" in str(caught.value) and "unsupported file type .pptx" in str(caught.value)
    status = index_status(out)
    assert status["version"] == first.version and status["documents"] == 1
