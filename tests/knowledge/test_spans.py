"""How the answer picks its spans: a table's rows kept together, a late span cut rather than dropped, a 'when'
answered by a day of the month, a fact further down the hits."""

from __future__ import annotations

from itertools import count

from knowledge.compose import Composer, spans_of
from knowledge.extract import Analyzer, fact_score
from knowledge.types import Chunk, Hit

_IDS = count(1)  # the composer caches spans per chunk id: every chunk here gets its own


def _hit(text: str, heading: str, score: float = 1.0, dense: float = 0.6) -> Hit:
    chunk = Chunk(next(_IDS), "a.md", "Handbook", heading, text, "d", "c")
    return Hit(chunk=chunk, score=score, dense=dense, rank=1)


def test_consecutive_table_rows_are_one_span_and_a_lone_row_shaped_line_is_prose() -> None:
    text = (
        "Meal allowance per day:\n"
        "Destination: Domestic; Allowance: $75.\n"
        "Destination: High-cost cities; Allowance: $95.\n"
        "Destination: Abroad; Allowance: $100.\n"
        "Note: receipts are optional; Scope: meals only.\n"
        "Ask finance when unsure."
    )
    analyzer = Analyzer.from_texts([text, "other words"], None)
    spans = spans_of(text, analyzer)
    assert [len(s.lines) for s in spans] == [4, 1, 1]
    assert spans[0].lead and spans[0].lines[-1].text == "Destination: Abroad; Allowance: $100."
    # The question names only the header; the whole (short) table is quoted, so the row with the value is too.
    body, _ = Composer(analyzer).compose(analyzer.question("what is the meal allowance?"), [_hit(text, "Meals")])
    assert "Destination: Abroad; Allowance: $100." in body


def test_a_span_that_no_longer_fits_whole_is_cut_to_its_best_item_instead_of_dropped() -> None:
    first = "Approved vendor invoices are paid in payment runs:\n" + "\n".join(
        f"- Approved vendor invoices of group {i} are paid by ACH transfer from the ledger account." for i in range(5)
    )
    second = "Payment run schedule:\n- Approved invoices are paid on Thursday when approved by Wednesday noon.\n" + (
        "\n".join(f"- Archive rule {i}: old records move to cold storage after review." for i in range(4))
    )
    analyzer = Analyzer.from_texts([first, second, "unrelated", "parking"], None)
    q = analyzer.question("when are approved vendor invoices paid?")
    hits = [_hit(first, "Vendor invoices"), _hit(second, "Schedule", 0.9)]
    body, order = Composer(analyzer).compose(q, hits)
    assert len(first) + len(second) > 600  # the second list does not fit whole after the first
    assert order == [0, 1]
    assert "Payment run schedule:\n- Approved invoices are paid on Thursday when approved by Wednesday noon.\n…" in body
    assert "Archive rule" not in body
    assert len(body) <= 600 + 10  # the chat budget, plus the [n] markers


def test_a_when_question_is_answered_by_a_day_of_the_month() -> None:
    kinds = Analyzer.from_texts(["x"], None).question("When is the cut-off for direct deposit changes?").kinds
    assert "time" in kinds
    assert fact_score("The cut-off is the 5th of the month.", kinds) >= 0.8
    assert fact_score("The cut-off applies to direct deposit changes.", kinds) < 0.2


def test_a_fact_in_the_fifth_best_chunk_can_be_quoted() -> None:
    fillers = [f"General note {i} about the office kitchen and its coffee machine." for i in range(4)]
    fact = "The parking permit costs $40 per month and is renewed in March."
    analyzer = Analyzer.from_texts([*fillers, fact, "parking permit"], None)
    hits = [_hit(t, "Office", 1.0 - i / 100) for i, t in enumerate(fillers)] + [_hit(fact, "Parking", 0.95)]
    body, order = Composer(analyzer).compose(analyzer.question("how much is a parking permit?"), hits)
    assert "$40 per month" in body and 4 in order
