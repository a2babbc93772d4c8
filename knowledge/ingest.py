"""Discover and load documents (Markdown, text, HTML, PDF) from one or more source roots."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from knowledge.formats import Converted, convert_html, convert_markdown, convert_pdf, convert_text

log = logging.getLogger(__name__)

MARKDOWN = frozenset({".md", ".markdown", ".mdx"})
TEXT = frozenset({".txt", ".text", ".rst"})
HTML = frozenset({".html", ".htm"})
PDF = frozenset({".pdf"})
SUPPORTED = MARKDOWN | TEXT | HTML | PDF
MAX_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class Document:
    source: str  # path relative to its source root, with "/" separators
    title: str
    text: str  # light Markdown: "#" headings and paragraphs separated by blank lines
    doc_hash: str  # sha256 of the file's bytes


@dataclass(frozen=True)
class Skipped:
    source: str
    reason: str


@dataclass(frozen=True)
class SourceFile:
    root: Path
    path: Path
    source: str


def discover(roots: Iterable[Path]) -> Iterator[SourceFile]:
    """Every regular file under the roots, hidden files and folders excluded, in a stable order.

    A README at the top of a source root describes the folder for maintainers and is not indexed.
    """
    seen: set[str] = set()
    for root in roots:
        root = Path(root)
        if not root.is_dir():
            raise FileNotFoundError(f"knowledge source folder not found: {root}")
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            rel = path.relative_to(root)
            if any(part.startswith(".") for part in rel.parts):
                continue
            if len(rel.parts) == 1 and rel.stem.lower() == "readme":
                continue
            source = rel.as_posix()
            if source in seen:  # same relative path under two roots: keep both, tell them apart
                source = f"{root.name}/{source}"
            seen.add(source)
            yield SourceFile(root=root, path=path, source=source)


def load_document(file: SourceFile) -> Document | Skipped:
    """Read and convert one file, or say why it was skipped (never raises for bad content)."""
    suffix = file.path.suffix.lower()
    if suffix not in SUPPORTED:
        return Skipped(file.source, f"unsupported file type {suffix or '(no extension)'}")
    try:
        data = file.path.read_bytes()
    except OSError as exc:
        return Skipped(file.source, f"unreadable: {exc.strerror or type(exc).__name__}")
    if len(data) > MAX_BYTES:
        return Skipped(file.source, f"larger than {MAX_BYTES // (1024 * 1024)} MB")
    try:
        converted = _convert(suffix, data)
    except _Undecodable as exc:
        return Skipped(file.source, str(exc))
    except Exception as exc:  # a malformed PDF/HTML must not stop the whole build
        log.debug("conversion failed for %s", file.source, exc_info=True)
        return Skipped(file.source, f"could not be parsed ({type(exc).__name__})")
    if not converted.text.strip():
        return Skipped(file.source, "no text content")
    title = converted.title or _first_heading(converted.text) or _title_from_name(file.path)
    return Document(
        source=file.source,
        title=title,
        text=converted.text,
        doc_hash=hashlib.sha256(data).hexdigest(),
    )


def load_documents(roots: Iterable[Path]) -> tuple[list[Document], list[Skipped]]:
    """Load every supported document; each skipped file is logged once as a warning."""
    documents: list[Document] = []
    skipped: list[Skipped] = []
    for file in discover(roots):
        result = load_document(file)
        if isinstance(result, Skipped):
            log.warning("skipped %s: %s", result.source, result.reason)
            skipped.append(result)
        else:
            documents.append(result)
    return documents, skipped


class _Undecodable(Exception):
    pass


def _decode(data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise _Undecodable("binary content (not text)")
    for encoding in ("utf-8-sig", "utf-16"):
        if encoding == "utf-16" and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
            continue
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _Undecodable("not valid UTF-8 text")


def _convert(suffix: str, data: bytes) -> Converted:
    if suffix in PDF:
        if not data.startswith(b"%PDF"):
            raise _Undecodable("not a PDF file (missing %PDF header)")
        return convert_pdf(data)
    text = _decode(data)
    if suffix in MARKDOWN:
        return convert_markdown(text)
    if suffix in HTML:
        return convert_html(text)
    return convert_text(text)


def _first_heading(text: str) -> str | None:
    for line in text.splitlines():
        if line.startswith("#"):
            return line.lstrip("#").strip() or None
    return None


def _title_from_name(path: Path) -> str:
    return path.stem.replace("-", " ").replace("_", " ").strip().capitalize() or path.name
