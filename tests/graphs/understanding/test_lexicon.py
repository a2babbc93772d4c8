"""The lexicon (lexicon.yaml): cue words compiled into the patterns the agent reads messages by."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphs.understanding.lexicon import lexicon


@pytest.mark.parametrize("text", ["yes", "Y", "yep, go", "ok", "okay then", "go ahead", "confirmed", "sure!"])
def test_yes_answers(text: str) -> None:
    assert lexicon().yes.search(text) and not lexicon().no.search(text)


@pytest.mark.parametrize("text", ["no", "N", "nope", "cancel it", "don't", "dont do that", "abort"])
def test_no_answers(text: str) -> None:
    assert lexicon().no.search(text) and not lexicon().yes.search(text)


@pytest.mark.parametrize("text", ["yesterday's invoice", "nobody asked", "okra", "surely not"])
def test_words_that_only_start_like_an_answer_are_neither(text: str) -> None:
    assert not (lexicon().yes.search(text) or lexicon().no.search(text))


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("how do I reset my password", True),
        ("Can I carry over PTO", True),
        ("the VPN is down?", True),
        ("add bob to engineering", False),
        ("however you like", False),
    ],
)
def test_questions(text: str, question: bool) -> None:
    assert bool(lexicon().question.search(text)) is question


@pytest.mark.parametrize(
    ("text", "follow_up"),
    [("and for Sam?", True), ("what about Ivy", True), ("Sam too?", True), ("add Sam to sales", False)],
)
def test_follow_ups(text: str, follow_up: bool) -> None:
    assert bool(lexicon().follow_up.search(text)) is follow_up


@pytest.mark.parametrize(
    ("text", "team"),
    [
        ("a question about my invoice", "Accounts Payable"),
        ("my laptop is broken", "IT"),
        ("I'd like to approve something", "HR"),
        ("talk to a human", "HR"),
    ],
)
def test_hand_offs_go_to_the_team_whose_words_appear(text: str, team: str) -> None:
    assert lexicon().team_for(text) == team


def test_every_team_is_listed_once() -> None:
    assert lexicon().teams == ("Accounts Payable", "IT", "HR")


def test_yaml_booleans_do_not_sneak_in() -> None:
    """A bare yes/no/on in YAML is a boolean; the shipped file quotes them, so they are words here."""
    assert "on" in lexicon().stop_words and "i" in lexicon().not_names


def test_a_broken_lexicon_names_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "lexicon.yaml"
    bad.write_text("question_starts: []\n", encoding="utf-8")
    with pytest.raises(ValueError, match="team_words"):
        lexicon(bad)
    bad.write_text("team_words: {IT: [vpn]}\nquestion_starts: []\n", encoding="utf-8")
    with pytest.raises(ValueError, match="follow_up_ends"):
        lexicon(bad)
