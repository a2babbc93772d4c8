"""Heading-aware chunking: heading paths, sentence boundaries, sizes and overlap."""

from __future__ import annotations

from itertools import pairwise

from knowledge.chunking import ChunkerSettings, chunk_document, split_sentences
from knowledge.ingest import Document


def _doc(text: str, title: str = "Expenses") -> Document:
    return Document(source="finance/expenses.md", title=title, text=text, doc_hash="h" * 64)


def test_heading_path_below_the_title() -> None:
    text = "\n\n".join(
        [
            "# Expenses",
            "Submit expenses in Ledgerly.",
            "## Meals",
            "The daily meal limit is $75.",
            "### International",
            "Abroad the limit is $100 per day.",
            "## Mileage",
            "Mileage is paid at 67 cents per mile.",
        ]
    )
    chunks = chunk_document(_doc(text))
    assert [(c.heading, c.text) for c in chunks] == [
        ("", "Submit expenses in Ledgerly."),
        ("Meals", "The daily meal limit is $75."),
        ("Meals > International", "Abroad the limit is $100 per day."),
        ("Mileage", "Mileage is paid at 67 cents per mile."),
    ]
    assert all(c.title == "Expenses" and c.source == "finance/expenses.md" for c in chunks)
    assert chunks[2].embed_text.startswith("Expenses > Meals > International\n")
    assert len({c.chunk_hash for c in chunks}) == 4


def test_sentences_keep_abbreviations_times_and_amounts() -> None:
    sentences = split_sentences(
        "Sessions start at 9:00 a.m. MT on Monday. Costs e.g. taxis are capped at $1.50 per km. Done!"
    )
    assert sentences == [
        "Sessions start at 9:00 a.m. MT on Monday.",
        "Costs e.g. taxis are capped at $1.50 per km.",
        "Done!",
    ]


def test_long_sections_split_on_sentence_boundaries_with_overlap() -> None:
    sentences = [f"Rule {i} says that invoices need approval within {i} business days of receipt." for i in range(60)]
    settings = ChunkerSettings(target_words=120, max_words=200, overlap_words=30)
    chunks = chunk_document(_doc("## Rules\n\n" + " ".join(sentences)), settings)
    assert len(chunks) > 3
    for chunk in chunks:
        assert len(chunk.text.split()) <= settings.max_words
        assert chunk.text.startswith("Rule ") and chunk.text.endswith("receipt.")  # whole sentences only
        assert chunk.heading == "Rules"
    for before, after in pairwise(chunks):
        # The small overlap (at most overlap_words) carries the end of one chunk into the next.
        carried = split_sentences(after.text)[:2]
        assert split_sentences(before.text)[-1] in after.text
        assert carried[0] in before.text and carried[1] in before.text
    covered = " ".join(c.text for c in chunks)
    assert all(s in covered for s in sentences)


def test_chunk_hash_is_stable_and_content_sensitive() -> None:
    a = chunk_document(_doc("## A\n\nOne fact."))
    b = chunk_document(_doc("## A\n\nOne fact."))
    c = chunk_document(_doc("## A\n\nAnother fact."))
    assert a[0].chunk_hash == b[0].chunk_hash != c[0].chunk_hash
