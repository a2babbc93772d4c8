"""Answer scoring: the question's answer type (the cue table), how well a sentence carries that kind of
fact, and the sentence score that picks the extract, on real questions from CLINC150."""

from __future__ import annotations

from knowledge.extract import Analyzer, fact_score, sentence_score
from tests.clinc150 import WORK_INTENTS, clinc150

ANALYZER = Analyzer.from_texts(["Payroll runs on the last Friday of each month.", "Holidays", "Benefits"], None)
FITS_EVERY_KIND = "Ask Dana Reyes at hr@example.com or hr.example.com on Tuesday 3 March at 9:30 a.m., within 5 days."
FITS_NONE = "ask the team about it."


def test_what_time_questions_want_a_clock_time() -> None:
    questions = [t for t, i in clinc150()["test"] if t.startswith("what time") and i in ("time", "meeting_schedule")]
    assert len(questions) >= 5
    for text in questions:
        assert "clock" in ANALYZER.question(text).kinds, text


def test_a_sentence_carrying_the_asked_kind_of_fact_scores_higher_on_real_questions() -> None:
    typed = 0
    for text, intent in clinc150()["test"]:
        if intent not in WORK_INTENTS:
            continue
        kinds = ANALYZER.question(text).kinds
        if not kinds:
            assert fact_score(FITS_NONE, kinds) == 0.0 and fact_score(FITS_EVERY_KIND, kinds) == 0.5
            continue
        typed += 1
        assert fact_score(FITS_EVERY_KIND, kinds) > fact_score(FITS_NONE, kinds), text
        assert 0.0 <= fact_score(FITS_NONE, kinds) < fact_score(FITS_EVERY_KIND, kinds) <= 1.0
    assert typed >= 100  # most real HR questions do ask for a kind of fact


def test_a_clock_time_beats_a_duration_for_a_what_time_question() -> None:
    kinds = ANALYZER.question("what time does payroll close on friday").kinds
    assert fact_score("Payroll closes at 5 p.m. on Fridays.", kinds) > fact_score("Payroll takes 2 days.", kinds)


def test_the_sentence_score_prefers_a_stated_fact_over_a_signpost_or_a_wall_of_text() -> None:
    question = ANALYZER.question("when does payroll run")

    def score(sentence: str) -> float:
        return sentence_score(ANALYZER, question, sentence, frozenset(ANALYZER.question(sentence).terms), 0.5)

    fact = "Payroll runs on the last Friday of each month."
    signpost = "See the payroll page: payroll runs on the last Friday of each month."
    wall = fact + " " + " ".join(["It also covers contractors and interns in every office."] * 7)
    assert score(fact) > score(signpost)
    assert score(fact) > score(wall)
    assert score(fact) - score(signpost) > 0.25  # the signpost penalty, not a rounding difference
