"""The full section behind a short answer: a reference kept with the reply ("<index version>:<chunk id>"),
resolved later against the serving index to every chunk of that section, joined without the chunker's
overlap. The reply carries the reference only, never the text (buttons and card data stay small).

`Sections` indexes a loaded index's chunks by id and by section (document and heading path) once, when the
index loads: a lookup reads two dicts instead of scanning every chunk. Nothing is stored in the index files,
so every published index, old or new, is served the same way. `adds_material` decides whether the section is
worth offering beside the answer at all."""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from threading import Lock

from knowledge.chunking import split_sentences
from knowledge.errors import SectionUnavailable
from knowledge.types import Chunk

REF = re.compile(r"^([0-9A-Za-z_.-]{1,64}):(\d{1,9})$")
MIN_OVERLAP = 12  # shorter shared text is a coincidence, not the chunker's overlap
MARKER = re.compile(r"\s*\[\d{1,2}\]")
# The full section is offered only when the sentences the answer left out come to at least this many
# characters (spaces collapsed): a short factual sentence ("Children are included for free.", 31) is worth a
# click; a few words, a bare link line or a sign-off ("Questions? Ask HR.") are not (README, "Show the full
# section"). An 80-character rule (one median sentence) hid facts like that one.
MIN_EXTRA_CHARS = 30
CACHE_SECTIONS = 512  # joined section texts kept per loaded index (most recently read first)
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
    (the chunker's overlap) are kept once. Only a tail of `text` no longer than `following` can be repeated
    by it, so the search starts there (linear in the chunk, not in the section joined so far)."""
    for start in range(max(0, len(text.rstrip()) - len(following)), len(text)):
        if start and not text[start - 1].isspace():
            continue
        tail = text[start:].strip()
        if len(tail) >= MIN_OVERLAP and following.startswith(tail):
            rest = following[len(tail) :]
            return text.rstrip() + rest if rest.startswith(("\n", " ")) or not rest else f"{text.rstrip()} {rest}"
    return f"{text.rstrip()}\n{following}"


def _join(same: Sequence[Chunk]) -> str:
    text = same[0].text
    for part in same[1:]:
        text = _merge(text, part.text)
    return text.strip()


class Sections:
    """Every section of one loaded index, by chunk id: built once in O(n), then each lookup is O(1) plus
    joining that section's chunks (kept for the next reader, at most CACHE_SECTIONS). Thread-safe."""

    def __init__(self, chunks: Sequence[Chunk], cache_size: int = CACHE_SECTIONS) -> None:
        self._by_id: dict[int, Chunk] = {}
        members: dict[tuple[str, str], list[Chunk]] = {}
        for chunk in chunks:
            self._by_id[chunk.id] = chunk
            members.setdefault((chunk.source, chunk.heading), []).append(chunk)
        self._members = {key: tuple(sorted(group, key=lambda c: c.id)) for key, group in members.items()}
        self._cache: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._cache_size = cache_size
        self._lock = Lock()

    def __len__(self) -> int:
        return len(self._members)

    def of(self, chunk_id: int) -> FullSection:
        """The section `chunk_id` belongs to (same document and heading path), its chunks joined in order;
        SectionUnavailable when no chunk has that id."""
        chunk = self._by_id.get(chunk_id)
        if chunk is None:
            raise SectionUnavailable(MALFORMED)
        key = (chunk.source, chunk.heading)
        with self._lock:
            text = self._cache.get(key)
            if text is not None:
                self._cache.move_to_end(key)
        if text is None:
            text = _join(self._members[key])
            with self._lock:
                self._cache[key] = text
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return FullSection(chunk.title, chunk.heading, chunk.source, text, chunk.url)


def section_of(chunks: Sequence[Chunk], chunk_id: int) -> FullSection:
    """The section of `chunk_id` among `chunks` (one-off; a served index keeps a `Sections`)."""
    return Sections(chunks, cache_size=0).of(chunk_id)


def _normal(text: str) -> str:
    return " ".join(MARKER.sub("", text).replace("…", " ").split()).lower()


def left_out(shown: str, section: str) -> list[str]:
    """The sentences of `section` (normalised: markers dropped, spaces collapsed, lower case) that the answer
    `shown` does not quote."""
    seen = _normal(shown)
    missing: list[str] = []
    for line in section.split("\n"):
        for sentence in split_sentences(line.strip()) or [line]:
            normal = _normal(sentence)
            if normal and normal not in seen:
                missing.append(normal)
    return missing


def adds_material(shown: str, section: str, min_chars: int = MIN_EXTRA_CHARS) -> bool:
    """Whether the full section is worth offering beside the answer `shown`: the sentences it leaves out come
    to at least `min_chars` characters."""
    return sum(len(s) for s in left_out(shown, section)) >= min_chars
