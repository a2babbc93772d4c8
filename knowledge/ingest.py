"""Discover and load documents (Markdown, text, HTML, PDF, Word) from one or more source roots, never outside them."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from knowledge.formats import Converted, convert_html, convert_markdown, convert_pdf, convert_text
from knowledge.word import convert_docx

log = logging.getLogger(__name__)

MARKDOWN = frozenset({".md", ".markdown", ".mdx"})
TEXT = frozenset({".txt", ".text", ".rst"})
HTML = frozenset({".html", ".htm"})
PDF = frozenset({".pdf"})
WORD = frozenset({".docx"})
SUPPORTED = MARKDOWN | TEXT | HTML | PDF | WORD
MAX_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class Document:
    source: str  # path relative to its source root, with "/" separators
    title: str
    text: str  # light Markdown: "#" headings and paragraphs separated by blank lines
    doc_hash: str  # sha256 of the file's bytes
    url: str | None = None  # from front matter (`url`, `permalink`)


@dataclass(frozen=True)
class Skipped:
    source: str
    reason: str


@dataclass(frozen=True)
class SourceFile:
    root: Path
    path: Path
    source: str


def discover(roots: Iterable[Path]) -> Iterator[SourceFile | Skipped]:
    """Every regular file under the roots, hidden files and folders excluded, in a stable order.

    Symbolic links are never followed out of the roots: a link to a file inside one of them is read, a
    link leading elsewhere (or to a folder) is skipped and reported, so a linked secret is never indexed.
    A README at the top of a source root describes the folder for maintainers and is not indexed.
    """
    roots = [Path(r) for r in roots]
    for root in roots:
        if not root.is_dir():
            raise FileNotFoundError(f"knowledge source folder not found: {root}")
    inside = [r.resolve() for r in roots]
    seen: set[str] = set()
    for root in roots:
        for path, rel in _walk(root):
            if len(rel.parts) == 1 and rel.stem.lower() == "readme":
                continue
            source = rel.as_posix()
            if source in seen:  # same relative path under two roots: keep both, tell them apart
                source = f"{root.name}/{source}"
            seen.add(source)
            if path.is_symlink():
                target = path.resolve()
                if target.is_dir():
                    yield Skipped(source, "symbolic link to a folder (not followed)")
                    continue
                if not any(target.is_relative_to(r) for r in inside):
                    yield Skipped(source, "symbolic link leading outside the knowledge folders")
                    continue
            if path.is_file():
                yield SourceFile(root=root, path=path, source=source)


def _walk(root: Path) -> Iterator[tuple[Path, Path]]:
    """(path, path relative to root) for every non-hidden entry that is not a real folder, sorted;
    `os.walk` without `followlinks` never descends into a linked folder."""
    found: list[tuple[Path, Path]] = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        base = Path(folder)
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        links = [d for d in dirs if (base / d).is_symlink()]  # listed as folders, reported as links
        for name in [*files, *links]:
            if not name.startswith("."):
                path = base / name
                found.append((path, path.relative_to(root)))
    return iter(sorted(found))


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
        url=converted.url,
    )


def load_documents(roots: Iterable[Path]) -> tuple[list[Document], list[Skipped]]:
    """Load every supported document; each skipped file is logged once as a warning."""
    documents: list[Document] = []
    skipped: list[Skipped] = []
    for file in discover(roots):
        result = file if isinstance(file, Skipped) else load_document(file)
        if isinstance(result, Skipped):
            log.warning("skipped %s: %s", result.source, result.reason)
            skipped.append(result)
        else:
            documents.append(result)
    return documents, skipped


# Single-byte Latin code pages among which windows-1252 is preferred (see `_decode`).
_LATIN_PAGES = frozenset(
    {"cp1250", "cp1252", "cp1254", "cp1257", "cp1258", "latin_1", "cp850", "cp852", "cp775", "mac_latin2"}
    | {f"iso8859_{n}" for n in (1, 2, 3, 4, 9, 10, 13, 14, 15, 16)}
)


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
    # Not UTF-8: Windows-1252 and Latin-1 handbooks are common; let charset-normalizer (a maintained
    # detector) name the encoding rather than guessing from a list of our own.
    from charset_normalizer import from_bytes

    matches = from_bytes(data)
    best = matches.best()
    if best is None or best.encoding is None:
        raise _Undecodable("not text in any encoding that could be detected")
    # Short Western texts fit several Latin code pages equally well (è reads as č in cp1250); like the
    # WHATWG Encoding Standard, prefer windows-1252 whenever it is one of the plausible candidates.
    plausible = {m.encoding for m in matches} | set(best.could_be_from_charset)
    encoding = "cp1252" if "cp1252" in plausible and best.encoding in _LATIN_PAGES else best.encoding
    log.info("decoded a %s file (not UTF-8)", encoding)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:  # a byte cp1252 leaves undefined: trust the detector's own pick
        return str(best)


def _convert(suffix: str, data: bytes) -> Converted:
    if suffix in PDF:
        if not data.startswith(b"%PDF"):
            raise _Undecodable("not a PDF file (missing %PDF header)")
        return convert_pdf(data)
    if suffix in WORD:
        if not data.startswith(b"PK"):
            raise _Undecodable("not a Word .docx file (not a zip archive)")
        return convert_docx(data)
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
