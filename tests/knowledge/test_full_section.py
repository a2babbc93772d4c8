"""'Show the full section': a shortened answer carries a reference to its top cited section, a whole one does
not; the reference resolves to the section's full text (its chunks joined without the chunker's overlap),
and a malformed, unknown or stale reference is refused with a message, never an exception of another kind."""

from __future__ import annotations

import pytest

from knowledge.answer import KnowledgeBase
from knowledge.embedder import Embedder
from knowledge.errors import SectionUnavailable
from knowledge.index import build_index
from knowledge.section import MALFORMED, STALE, cut, section_of
from knowledge.types import Chunk

STEPS = [
    f"{n}. Step {n} of the laptop return: pack item group {n} in box {n} and label it with code R{n}."
    for n in range(1, 41)
]
LONG = (
    "# Returning equipment\n\n## Laptop return steps\n\nReturn your laptop in these steps:\n\n"
    + "\n".join(STEPS)
    + "\n"
)
SHORT = "# Parking\n\n## Bicycle parking\n\nBicycles are parked in the basement rack next to the lift.\n"


@pytest.fixture(scope="module")
def small_kb(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> KnowledgeBase:
    src = tmp_path_factory.mktemp("section-src")
    (src / "returns.md").write_text(LONG, encoding="utf-8")
    (src / "parking.md").write_text(SHORT, encoding="utf-8")
    out = tmp_path_factory.mktemp("section-index")
    build_index([src], out, embedder)
    return KnowledgeBase.open(out, embedder)


def test_a_shortened_answer_offers_its_whole_section_and_a_whole_one_does_not(small_kb: KnowledgeBase) -> None:
    long = small_kb.answer("What are the laptop return steps?")
    assert long.found and long.section is not None
    full = small_kb.section(long.section)
    assert full.title == "Returning equipment" and full.heading == "Laptop return steps"
    assert len(long.text) < len(full.text)
    for step in STEPS:  # every step once, although the section spans several overlapping chunks
        assert full.text.count(step) == 1, step
    short = small_kb.answer("Where do I park my bicycle?")
    assert short.found and "basement rack" in short.text
    assert short.section is None  # nothing was cut: no offer


def test_bad_and_stale_references_are_refused_with_a_message(small_kb: KnowledgeBase) -> None:
    for ref in ("", "not a reference", f"{small_kb.version}:999999", "x" * 300):
        with pytest.raises(SectionUnavailable) as malformed:
            small_kb.section(ref)
        assert str(malformed.value) == MALFORMED
    with pytest.raises(SectionUnavailable) as stale:
        small_kb.section("20000101T000000000000Z:1")
    assert str(stale.value) == STALE


def test_chunks_of_one_section_join_without_their_overlap() -> None:
    a = Chunk(1, "a.md", "A", "H", "First sentence here. Second sentence here. Third sentence here.", "d", "c1")
    b = Chunk(2, "a.md", "A", "H", "Third sentence here. Fourth sentence here.", "d", "c2")
    other = Chunk(3, "a.md", "A", "Other", "Not this one.", "d", "c3")
    text = section_of([b, other, a], 2).text
    assert text == "First sentence here. Second sentence here. Third sentence here. Fourth sentence here."
    assert not cut("Second sentence here. [1]", "Second sentence here.")
    assert cut("Second sentence here. [1]", "Second sentence here. Third sentence here.")
