"""Answers over the sample corpus: retrieval quality, grounded citations, declining, and bad input."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

from knowledge.answer import KnowledgeBase
from knowledge.errors import QuestionError

HIT_AT_5_TARGET = 0.97
ANSWERED_TARGET = 0.90
DECLINED_TARGET = 0.85  # the boundary is calibrated from the index alone, no longer fitted on these questions


def test_hit_at_5_over_the_labelled_questions(kb: KnowledgeBase, cases: list[dict[str, Any]]) -> None:
    answerable = [c for c in cases if c["expect"] == "answer"]
    assert len(answerable) >= 40
    misses = []
    for case in answerable:
        sources = {h.chunk.source for h in kb.search(case["question"], k=5)}
        if not sources & set(case["expected_sources"]):
            misses.append(case["id"])
    hit_rate = 1 - len(misses) / len(answerable)
    assert hit_rate >= HIT_AT_5_TARGET, f"hit@5 {hit_rate:.3f}; missed {misses}"


def test_answers_and_declines_over_the_labelled_questions(kb: KnowledgeBase, cases: list[dict[str, Any]]) -> None:
    answerable = [c for c in cases if c["expect"] == "answer"]
    unanswerable = [c for c in cases if c["expect"] == "no_answer"]
    assert unanswerable
    answered = [c["id"] for c in answerable if kb.answer(c["question"]).found]
    declined = [c["id"] for c in unanswerable if not kb.answer(c["question"]).found]
    assert len(answered) / len(answerable) >= ANSWERED_TARGET
    assert len(declined) / len(unanswerable) >= DECLINED_TARGET, (
        f"answered unanswerable: {sorted({c['id'] for c in unanswerable} - set(declined))}"
    )


def test_answer_cites_the_sources_it_quotes(kb: KnowledgeBase) -> None:
    answer = kb.answer("Who approves an invoice over $25,000?")
    assert answer.found and 0.35 <= answer.confidence <= 1.0
    assert "Kate Novak" in answer.text or "CFO" in answer.text
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", answer.text)}
    # The quoted sources come first and each is marked; further retrieved documents follow, unmarked.
    assert markers == set(range(1, len(markers) + 1)) and markers <= {c.n for c in answer.citations}
    assert len({c.source for c in answer.citations}) == len(answer.citations) <= 5
    assert answer.citations[0].source == "ap/approval-thresholds.md"
    assert answer.citations[0].title == "Invoice Approval Thresholds"
    for citation in answer.citations:
        chunk_texts = [h.chunk.text for h in answer.hits if h.chunk.source == citation.source]
        assert chunk_texts, "every citation points at a retrieved passage"
    # Every sentence in the answer is quoted from a cited passage (extractive: nothing invented).
    for sentence, n in re.findall(r"(.+?) \[(\d+)\]\s*", answer.text):
        source = next(c.source for c in answer.citations if c.n == int(n))
        assert any(sentence.strip() in h.chunk.text for h in answer.hits if h.chunk.source == source)


def test_off_topic_and_near_miss_questions_are_declined_with_a_team(kb: KnowledgeBase) -> None:
    weather = kb.answer("what's the weather like in Lisbon this weekend?")
    assert not weather.found and weather.citations == []
    assert weather.text.startswith("I couldn't find that in the knowledge base.")
    payroll = kb.answer("How many vacation days does Priya Shah have left this year?")
    assert not payroll.found
    assert payroll.team == "HR" and "#ask-hr" in payroll.text
    invoice = kb.answer("What is the bank account number of the vendor Initech Corp Holdings?")
    assert not invoice.found and invoice.team == "Accounts Payable" and "#ap-help" in invoice.text


def test_contacts_table_is_configurable(sample_index: Any, embedder: Any) -> None:
    custom = KnowledgeBase.open(sample_index, embedder, contacts={"HR": "Olivia in #people"})
    answer = custom.answer("How many vacation days does Priya Shah have left this year?")
    assert not answer.found and answer.text.endswith("For HR questions, ask Olivia in #people.")


def test_query_vector_can_be_passed_in(kb: KnowledgeBase, embedder: Any) -> None:
    question = "How often are vendors paid?"
    vec = embedder.encode_query(question)
    assert vec.shape == (384,) and vec.dtype == np.float32 and abs(float(np.linalg.norm(vec)) - 1) < 1e-3
    with_vec = kb.answer(question, query_vec=vec)
    without = kb.answer(question)
    assert with_vec.text == without.text and with_vec.found


@pytest.mark.parametrize("question", ["", "   ", "\n\t"])
def test_empty_question_is_refused_clearly(kb: KnowledgeBase, question: str) -> None:
    with pytest.raises(QuestionError, match=r"^Please type a question\.$"):
        kb.answer(question)
    with pytest.raises(ValueError):  # QuestionError is a ValueError too
        kb.search(question)


def test_very_long_question_is_refused_clearly(kb: KnowledgeBase) -> None:
    question = "How many PTO days do I get? " * 730  # ~20 kB
    assert len(question.encode()) > 20_000
    with pytest.raises(QuestionError, match=r"too long \(20,439 characters\); please keep it under 4,000"):
        kb.answer(question)


def test_long_message_is_answered_from_its_final_ask(kb: KnowledgeBase) -> None:
    context = "I joined last spring and plan a long trip to see my family abroad later this year. " * 20
    question = context + "How many PTO days do I get per year?"
    assert 1_000 < len(question) < 4_000
    assert kb.query_text(question).endswith("How many PTO days do I get per year?")
    answer = kb.answer(question)
    assert answer.found
    assert answer.citations[0].source == "time-off/pto.md"
