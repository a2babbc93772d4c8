"""The full section behind a short answer: a reference kept with the reply ("<index version>:<chunk id>"),
resolved later against the serving index to every chunk of that section, joined without the chunker's
overlap. The reply carries the reference only, never the text (buttons and card data stay small)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from knowledge.chunking import split_sentences
from knowledge.errors import SectionUnavailable
from knowledge.types import Chunk

REF = re.compile(r"^([0-9A-Za-z_.-]{1,64}):(\d{1,9})$")
MIN_OVERLAP = 12  # shorter shared text is a coincidence, not the chunker's overlap
MARKER = re.compile(r"\s*\[\d{1,2}\]")
MALFORMED = "That button does not point to a section I know. Please ask the question again."
STALE = (
    "The knowledge base has been updated since that answer, so its section may have changed. "
    "Please ask the question again to see the current text."
)


@dataclass(frozen=True)
class FullSection:
    title: str
    heading: str
    source: str
    text: str
    url: str | None = None


def make_ref(version: str, chunk_id: int) -> str:
    return f"{version}:{chunk_id}"


def parse_ref(ref: str) -> tuple[str, int]:
    """(version, chunk id) of a reference; SectionUnavailable when it is not one."""
    match = REF.match((ref or "").strip())
    if not match:
        raise SectionUnavailable(MALFORMED)
    return match.group(1), int(match.group(2))


def _merge(text: str, following: str) -> str:
    """Two consecutive chunks of one section as one text: the sentences the second repeats from the first
    (the chunker's overlap) are kept once."""
    for start in range(len(text)):
        if start and not text[start - 1].isspace():
            continue
        tail = text[start:].strip()
        if len(tail) >= MIN_OVERLAP and following.startswith(tail):
            rest = following[len(tail) :]
            return text.rstrip() + rest if rest.startswith(("\n", " ")) or not rest else f"{text.rstrip()} {rest}"
    return f"{text.rstrip()}\n{following}"


def section_of(chunks: Sequence[Chunk], chunk_id: int) -> FullSection:
    """Every chunk of the section `chunk_id` belongs to (same document and heading path), in order."""
    chunk = next((c for c in chunks if c.id == chunk_id), None)
    if chunk is None:
        raise SectionUnavailable(MALFORMED)
    same = sorted((c for c in chunks if c.source == chunk.source and c.heading == chunk.heading), key=lambda c: c.id)
    text = same[0].text
    for part in same[1:]:
        text = _merge(text, part.text)
    return FullSection(chunk.title, chunk.heading, chunk.source, text.strip(), chunk.url)


def _normal(text: str) -> str:
    return " ".join(MARKER.sub("", text).replace("…", " ").split()).lower()


def cut(shown: str, section: str) -> bool:
    """Whether the answer `shown` leaves out any sentence of `section` (then the full section is offered)."""
    seen = _normal(shown)
    for line in section.split("\n"):
        for sentence in split_sentences(line.strip()) or [line]:
            if _normal(sentence) and _normal(sentence) not in seen:
                return True
    return False
