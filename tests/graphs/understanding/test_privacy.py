"""The private-topic detector: other people's private data is recognised; ordinary work questions are not."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from graphs.understanding.privacy import asks_for_someone_elses_private_data, mentions_private_topic, private_topics
from tests.clinc150 import by_intent

SAM, BOB = "sam.taylor@example.com", "bob.martin@example.com"

PRIVATE = [
    "what is Carol Diaz's salary?",
    "how much does Maya Patel earn?",
    "how much is Sam Taylor paid?",
    "did Sam get a bonus this year?",
    "What's Grace Kim's home address?",
    "where does Sam Taylor live?",
    "what's Sam Taylor's mobile number?",
    "give me Sam's cell phone number",
    "give me Dan Okafor's personal phone number and date of birth",
    "How many PTO days does Sam Taylor have left this year?",
    "is Sam Taylor on medical leave?",
    "is Sam Taylor sick today?",
    "what medical condition does Sam have?",
    "how old is Sam Taylor?",
    "what's Sam Taylor's age?",
    "when is Sam Taylor's birthday?",
    "is Sam Taylor pregnant?",
    "what was Sam Taylor's performance rating?",
    "did Sam Taylor pass his background check?",
    "what is Sam Taylor’s salary?",
    "did Sam Taylor get a raise?",
    "what bonus did Sam Taylor receive last year?",
    "what's Sam Taylor's base salary?",
    "how many sick days has Sam Taylor used?",
    "is Sam Taylor taking paternity leave?",
    "was Sam Taylor out sick on Friday?",
    "is Sam Taylor on a PIP?",
    "has Sam Taylor had a written warning?",
    "are there complaints against Sam Taylor?",
    "is Sam Taylor getting fired?",
    "what did Sam Taylor score in his annual review?",
    "what rating did Sam Taylor get this cycle?",
]
ORDINARY = [
    "does Sam Taylor work on the mobile app?",
    "is Sam Taylor on the mobile team?",
    "who maintains the health check endpoint, is it Sam Taylor?",
    "does Sam Taylor own the age verification feature?",
    "is Sam Taylor working on the bonus calculation service?",
    "does Sam Taylor know the payment terms for Acme?",
    "is Sam Taylor in engineering?",
    "who is Sam Taylor's manager?",
    "what's Sam Taylor's job title?",
    "does Sam Taylor manage the mobile release?",
    "is Sam Taylor on the platform health dashboard project?",
    "did Sam Taylor review the earnings report dashboard?",
    "is Sam Taylor building the salary benchmarking dashboard?",
    "can Sam Taylor review the pay band calculator code?",
    "is Sam Taylor running the performance review process this year?",
    "does Sam Taylor own the sick leave policy page?",
    "who approves Sam Taylor's expense reports?",
    "is Sam Taylor on the compensation committee?",
    "did Sam Taylor fix the bonus feature rollout?",
]


@pytest.mark.parametrize("text", PRIVATE)
def test_private_topics_about_someone_else_are_recognised(text):
    assert asks_for_someone_elses_private_data(text, SAM, BOB)


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_work_questions_are_not_private(text):
    assert not mentions_private_topic(text)
    assert not asks_for_someone_elses_private_data(text, SAM, BOB)


def test_asking_about_yourself_or_no_one_is_never_declined():
    assert not asks_for_someone_elses_private_data("what's my salary?", BOB, BOB)
    assert not asks_for_someone_elses_private_data("how is salary paid?", None, BOB)


def test_a_topics_file_without_topics_is_refused(tmp_path: Path):
    bad = tmp_path / "privacy.yaml"
    bad.write_text("topics: []\n", encoding="utf-8")
    with pytest.raises(ValueError, match="topics"):
        private_topics(bad)


def _about_a_coworker(text: str) -> str:
    return re.sub(r"\bmy\b", "Sam Taylor's", text, count=1)


def test_real_pay_questions_are_private_when_about_a_coworker_and_never_when_about_oneself() -> None:
    """CLINC150's salary questions are asked about oneself; about a coworker the same words are declined."""
    own = [t for t in by_intent("train", "income") + by_intent("test", "income") if re.search(r"\bmy salary\b", t)]
    assert len(own) >= 10
    for text in own:
        assert not asks_for_someone_elses_private_data(text, None, SAM)  # no one else named
        assert not asks_for_someone_elses_private_data(_about_a_coworker(text), SAM, SAM)  # oneself
        assert asks_for_someone_elses_private_data(_about_a_coworker(text), SAM, BOB), _about_a_coworker(text)


def test_real_scheduling_questions_about_a_coworker_are_work_not_private() -> None:
    texts = [t for t in by_intent("train", "meeting_schedule") + by_intent("test", "meeting_schedule") if " my " in t]
    assert len(texts) >= 10
    assert [t for t in map(_about_a_coworker, texts) if mentions_private_topic(t)] == []
