"""The vocabulary the offline agent reads messages by (question and follow-up cues, yes/no answers, team
words, non-names), loaded once from lexicon.yaml and compiled into patterns."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from tools.yaml_text import parse_yaml

LEXICON_FILE = Path(__file__).resolve().parent / "lexicon.yaml"


@dataclass(frozen=True)
class Lexicon:
    question: re.Pattern[str]  # a question rather than an instruction
    follow_up: re.Pattern[str]  # "and for Sam too?"
    yes: re.Pattern[str]
    no: re.Pattern[str]
    team_words: dict[str, tuple[str, ...]]  # team -> words that point a hand-off to it (first match wins)
    default_team: str
    not_names: frozenset[str]
    stop_words: frozenset[str]
    person_before: frozenset[str]  # a lone first name right after one of these is a person ("add grace")
    person_after: frozenset[str]  # … or right before one of these ("grace asked", "is Sam on leave")
    determiners: frozenset[str]  # … but never right after one of these ("the grace period")
    place_starts: frozenset[str]  # … nor right after one of these ("San Diego") …
    person_titles: frozenset[str]  # … or another capitalised word but these ("Lake Grace", not "Dr Grace") …
    business_words: frozenset[str]  # … nor as a possessive before a place of business ("ruth's steakhouse")
    business_word_endings: tuple[str, ...]
    group_before: frozenset[str]  # a shortened group name counts right after one of these ("to eng") …
    group_after: frozenset[str]  # … or right before one of these ("the fin team")
    group_word_endings: tuple[str, ...]  # "designers", "engineer": a group's word with another ending

    @property
    def teams(self) -> tuple[str, ...]:
        """Every team a hand-off can go to."""
        return (*self.team_words, self.default_team)

    def team_for(self, text: str) -> str:
        """The team a hand-off of `text` goes to."""
        low = f" {text.lower()} "
        for team, words in self.team_words.items():
            if any(w in low for w in words):
                return team
        return self.default_team

    def business_word(self, word: str) -> bool:
        """ "diner", "steakhouse", "pizzeria": a word for a place of business (not "house" on its own)."""
        low = word.lower()
        return low in self.business_words or any(
            low.endswith(end) and len(low) - len(end) >= 3 for end in self.business_word_endings
        )


def _words(data: dict[str, object], key: str, path: Path) -> list[str]:
    value = data.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"{path}: `{key}` must be a non-empty list of words")
    return [str(v) for v in value]


def _starts(words: list[str]) -> str:
    return r"^\s*(" + "|".join(words) + r")\b"


@lru_cache(maxsize=4)  # read once per file: the vocabulary is data, not state that changes while running
def lexicon(path: Path = LEXICON_FILE) -> Lexicon:
    data = parse_yaml(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: the lexicon must be a mapping")
    teams = data.get("team_words")
    if not isinstance(teams, dict) or not teams:
        raise ValueError(f"{path}: `team_words` must map each team to its words")
    ends = "|".join(_words(data, "follow_up_ends", path))
    return Lexicon(
        question=re.compile(_starts(_words(data, "question_starts", path)) + r"|\?\s*$", re.I),
        follow_up=re.compile(_starts(_words(data, "follow_up_starts", path)) + rf"|\b(?:{ends})\s*\??\s*$", re.I),
        yes=re.compile(_starts(_words(data, "answer_yes", path)), re.I),
        no=re.compile(_starts(_words(data, "answer_no", path)), re.I),
        team_words={str(team): tuple(_words(teams, team, path)) for team in teams},
        default_team=str(data.get("default_team") or "HR"),
        not_names=frozenset(_words(data, "not_names", path)),
        stop_words=frozenset(_words(data, "stop_words", path)),
        person_before=frozenset(_words(data, "person_before", path)),
        person_after=frozenset(_words(data, "person_after", path)),
        determiners=frozenset(_words(data, "determiners", path)),
        place_starts=frozenset(_words(data, "place_starts", path)),
        person_titles=frozenset(_words(data, "person_titles", path)),
        business_words=frozenset(_words(data, "business_words", path)),
        business_word_endings=tuple(_words(data, "business_word_endings", path)),
        group_before=frozenset(_words(data, "group_before", path)),
        group_after=frozenset(_words(data, "group_after", path)),
        group_word_endings=tuple(_words(data, "group_word_endings", path)),
    )
