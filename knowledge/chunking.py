"""Heading-aware chunking: sections keep their heading path, chunks end on sentence boundaries."""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass

from knowledge.ingest import Document

_ABBREVIATIONS = frozenset(
    {"e.g.", "i.e.", "vs.", "mr.", "mrs.", "ms.", "dr.", "no.", "approx.", "u.s.", "inc.", "st.", "cf.", "a.m.", "p.m."}
)
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9$])")
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")


@dataclass(frozen=True)
class ChunkerSettings:
    target_words: int = 220
    max_words: int = 300
    overlap_words: int = 40
    version: int = 1

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class Passage:
    """A chunk before it gets an id: the text plus where it came from."""

    source: str
    title: str
    heading: str  # heading path below the title, joined with " > " ("" before the first heading)
    text: str
    doc_hash: str
    chunk_hash: str

    @property
    def embed_text(self) -> str:
        """What the embedder sees: the heading path gives a short passage its context."""
        path = " > ".join(p for p in (self.title, self.heading) if p)
        return f"{path}\n{self.text}"


def split_sentences(paragraph: str) -> list[str]:
    """Split a paragraph into sentences without breaking abbreviations or amounts."""
    parts: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(paragraph):
        candidate = paragraph[start : match.start()].rstrip()
        last_word = candidate.rsplit(" ", 1)[-1].lower()
        if last_word in _ABBREVIATIONS or re.fullmatch(r"[a-z]\.", last_word):
            continue
        parts.append(paragraph[start : match.end()].strip())
        start = match.end()
    tail = paragraph[start:].strip()
    if tail:
        parts.append(tail)
    return [p for p in parts if p]


def _sections(doc: Document) -> list[tuple[str, list[str]]]:
    """(heading path below the title, paragraphs) for every section that has text."""
    stack: list[tuple[int, str]] = []
    sections: list[tuple[str, list[str]]] = []
    current: list[str] = []

    def close() -> None:
        if current:
            sections.append((" > ".join(h for _, h in stack), list(current)))
            current.clear()

    for para in doc.text.split("\n\n"):
        match = _HEADING.match(para)
        if not match:
            current.append(para)
            continue
        close()
        level, text = len(match.group(1)), match.group(2).strip()
        if level == 1 and text.lower() == doc.title.lower():
            stack.clear()
            continue
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, text))
    close()
    return sections


def _split_long(sentence: str, max_words: int) -> list[str]:
    """A sentence longer than a whole chunk (rare: run-on lists) is cut at word boundaries."""
    words = sentence.split()
    if len(words) <= max_words:
        return [sentence]
    pieces = [" ".join(words[i : i + max_words]) for i in range(0, len(words), max_words)]
    pieces[-1] += "\n" if sentence.endswith("\n") else ""
    return pieces


def _pack(sentences: list[str], settings: ChunkerSettings) -> list[list[str]]:
    """Group sentences into chunks of about target_words, carrying a small overlap forward."""
    units: list[str] = []
    for sentence in sentences:
        units.extend(_split_long(sentence, settings.max_words))
    chunks: list[list[str]] = []
    current: list[str] = []
    words = 0
    for unit in units:
        n = len(unit.split())
        if current and words + n > settings.target_words:
            chunks.append(current)
            overlap: list[str] = []
            carried = 0
            for prev in reversed(current):
                carried += len(prev.split())
                if carried > settings.overlap_words:
                    break
                overlap.insert(0, prev)
            current, words = list(overlap), sum(len(s.split()) for s in overlap)
        current.append(unit)
        words += n
    if current:
        chunks.append(current)
    return chunks


def chunk_document(doc: Document, settings: ChunkerSettings | None = None) -> list[Passage]:
    """Chunks of one document, in document order."""
    settings = settings or ChunkerSettings()
    passages: list[Passage] = []
    for heading, paragraphs in _sections(doc):
        # Each paragraph (or list item) keeps a line of its own inside the chunk.
        sentences: list[str] = []
        for para in paragraphs:
            split = split_sentences(para)
            if split:
                split[-1] = split[-1] + "\n"
            sentences.extend(split)
        for group in _pack(sentences, settings):
            text = " ".join(group).replace("\n ", "\n").strip()
            digest = hashlib.sha256(f"{doc.title}\x1f{heading}\x1f{text}".encode()).hexdigest()
            passages.append(
                Passage(
                    source=doc.source,
                    title=doc.title,
                    heading=heading,
                    text=text,
                    doc_hash=doc.doc_hash,
                    chunk_hash=digest,
                )
            )
    return passages
