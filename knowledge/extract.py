"""Question analysis and sentence scoring for extractive answers (no LLM)."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Any

import yaml
from rapidfuzz import fuzz, process

from knowledge.chunking import split_sentences

_TOKEN = re.compile(r"(?u)\b\w\w+\b")
# Function words of questions and passages: they carry no topic, so they never count as overlap.
_STOPWORD_TEXT = """a an and are as at be but by for if in into is it no not of on or such that the their then there
these they this to was will with what whats how when where which who whom whose why do does did done can could
should would may might must shall i im me my mine we our ours us you your yours he she his her him them its am
been being have has had having get gets got getting need needs want wants let lets any some all each every about
from up out so than too very just also only own same other anyone someone something thing things please tell
know like go going much many way ok okay hi hello hey thanks dont"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_NUMBER = re.compile(r"\d")
_MONEY = re.compile(r"[$€£]\s?\d|\b\d[\d,.]*\s?(?:%|percent|usd|dollars)\b", re.IGNORECASE)
_DURATION = re.compile(
    r"\b\d+(?:[.,]\d+)?\s?(?:-\s?)?(?:business\s|calendar\s|working\s)?"
    r"(?:minutes?|hours?|days?|weeks?|months?|years?|nights?)\b",
    re.IGNORECASE,
)
_DATE = re.compile(
    r"\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|march|april|may|june|"
    r"july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)\b"
    r"|\b\d{1,2}:\d{2}\b|\b\d{4}-\d{2}-\d{2}\b|\b(?:a\.m\.|p\.m\.|noon|midnight)",
    re.IGNORECASE,
)
_CONTACT = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+|(?<!\w)#[a-z][\w-]+|\+?\d[\d ()-]{7,}\d")
# Years and ticket-style numbers ("#4412", "ticket 4412"); amounts and durations are parameters, not ids.
_RECORD_ID = re.compile(r"#\d{2,}|\b(?:19|20)\d{2}\b|(?<=ticket )\d{3,}|(?<=case )\d{3,}", re.IGNORECASE)
_PROPER = re.compile(r"(?<![.!?:]\s)(?<!^)\b[A-Z][a-zA-Z0-9]+(?:[- ][A-Z][a-zA-Z0-9]+)*")

_CLOCK = re.compile(r"\b\d{1,2}(?::\d{2})?\s?(?:a\.m\.|p\.m\.|am\b|pm\b)|\b\d{1,2}:\d{2}\b|\bnoon\b|\bmidnight\b", re.I)
_DAY = re.compile(
    r"\b(?:mon|tues|wednes|thurs|fri|satur|sun)days?\b|\b\d{1,2}(?:st|nd|rd|th)?\s(?:of\s)?(?:jan|feb|mar|apr|may|jun|"
    r"jul|aug|sep|oct|nov|dec)[a-z]*\b|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\s\d{1,2}\b"
    r"|\b\d{1,2}(?:st|nd|rd|th) of the month\b|\blast day of\b",
    re.IGNORECASE,
)
_LINK = re.compile(r"\b[\w-]+(?:\.[\w-]+)*\.(?:gov|com|org|net|io|us|app)\b|https?://|\w > \w")
_META = re.compile(
    r"^(?:this (?:page|section|document|guide|article|handbook)|see |read more|for more information|"
    r"learn more|more information)",
    re.IGNORECASE,
)
ANSWER_CUES = Path(__file__).resolve().parent / "answer_cues.yaml"


@lru_cache(maxsize=4)  # read once per file: the cues are data, not state that changes while running
def answer_types(path: Path = ANSWER_CUES) -> dict[str, tuple[str, ...]]:
    """Answer kind → the question phrases that ask for it (knowledge/answer_cues.yaml)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    table = data.get("answer_types") if isinstance(data, dict) else None
    if not isinstance(table, dict) or not all(isinstance(v, list) and v for v in table.values()):
        raise ValueError(f"{path}: `answer_types` must map each answer kind to a list of phrases")
    return {str(kind): tuple(str(c) for c in cues) for kind, cues in table.items()}


FIT_WEIGHT = 0.35
PRIOR_WEIGHT = 1.6


def phrases(text: str, stem: Any) -> set[tuple[str, str]]:
    """Adjacent pairs of content words ("referral bonus", "dress code"); a stopword breaks a pair."""
    words = _TOKEN.findall(text.lower())
    stems = list(stem(words)) if stem else words
    seq = [None if w in STOPWORDS else s for w, s in zip(words, stems, strict=True)]
    return {(a, b) for a, b in pairwise(seq) if a and b}


_CODE_HYPHEN = re.compile(r"\b([a-z])-(\d)")  # "W-2" and "W2" are the same form


def terms(text: str, stem: Any) -> list[str]:
    """Lower-cased, stemmed content words."""
    words = [w for w in _TOKEN.findall(_CODE_HYPHEN.sub(r"\1\2", text.lower())) if w not in STOPWORDS]
    return list(stem(words)) if stem else words


@dataclass(frozen=True)
class Question:
    text: str
    terms: tuple[str, ...]
    weights: dict[str, float]
    kinds: frozenset[str]
    names: tuple[str, ...]  # multi-word names and record ids/years an answer passage must mention
    words: tuple[str, ...]  # single capitalised words (places, products) a passage should mention
    pairs: frozenset[tuple[str, str]]  # adjacent content-word pairs ("pet insurance")


@dataclass
class Analyzer:
    """Holds the corpus statistics (document frequencies) and the stemmer; cheap to query."""

    stem: Any
    df: Counter[str]
    n_docs: int
    _cache: Any = field(default=None, repr=False)
    _vocab: list[str] | None = field(default=None, repr=False)

    @classmethod
    def from_texts(cls, texts: Iterable[str], stem: Any) -> Analyzer:
        df: Counter[str] = Counter()
        n = 0
        for text in texts:
            df.update(set(terms(text, stem)))
            n += 1
        return cls(stem=stem, df=df, n_docs=max(n, 1))

    def __post_init__(self) -> None:
        self._cache = lru_cache(maxsize=4096)(self._sentences)

    def idf(self, term: str) -> float:
        return math.log(1.0 + (self.n_docs + 0.5) / (self.df.get(term, 0) + 0.5))

    def _correct(self, term: str) -> str:
        """Map a misspelt term that the corpus never uses to a close corpus term ("aproves" -> "approv")."""
        if term in self.df or len(term) < 4 or term.isdigit():
            return term
        if self._vocab is None:
            self._vocab = [t for t in self.df if len(t) >= 3 and not t.isdigit()]
        match = process.extractOne(term, self._vocab, scorer=fuzz.ratio, score_cutoff=75)
        return str(match[0]) if match else term

    def question(self, text: str) -> Question:
        found = [self._correct(t) for t in terms(text, self.stem)]
        weights = {t: self.idf(t) for t in found}
        lowered = " " + " ".join(_TOKEN.findall(text.lower())) + " "
        kinds = frozenset(kind for kind, cues in answer_types().items() if any(f" {cue} " in lowered for cue in cues))
        names: list[str] = []
        words: list[str] = []
        for match in _PROPER.finditer(text.strip()):
            (names if " " in match.group(0) else words).append(match.group(0))
        names += _RECORD_ID.findall(text)
        return Question(
            text,
            tuple(found),
            weights,
            kinds,
            tuple(dict.fromkeys(names)),
            tuple(dict.fromkeys(words)),
            frozenset(phrases(text, self.stem)),
        )

    def sentences(self, chunk_id: int, text: str) -> list[tuple[str, frozenset[str]]]:
        """The chunk's sentences with their term sets (cached per chunk)."""
        result: list[tuple[str, frozenset[str]]] = self._cache(chunk_id, text)
        return result

    def _sentences(self, chunk_id: int, text: str) -> list[tuple[str, frozenset[str]]]:
        out = []
        for line in text.split("\n"):
            for sentence in split_sentences(line.strip()):
                out.append((sentence, frozenset(terms(sentence, self.stem))))
        return out

    def coverage(self, question: Question, passage_terms: Iterable[str]) -> float:
        """IDF-weighted share of the question's terms that the passage contains (0..1)."""
        total = sum(question.weights.values())
        if total <= 0:
            return 0.0
        have = set(passage_terms)
        return sum(w for t, w in question.weights.items() if t in have) / total

    @staticmethod
    def unsupported(items: Iterable[str], passage: str) -> list[str]:
        """The names/ids among `items` that the passage never mentions (digits compared without commas)."""
        lowered = _CODE_HYPHEN.sub(r"\1\2", passage.lower().replace(",", ""))
        missing = []
        for item in items:
            text = _CODE_HYPHEN.sub(r"\1\2", item.lower().replace(",", ""))
            words = [w for w in _TOKEN.findall(text) if w not in STOPWORDS]
            if words and not all(w in lowered for w in words):
                missing.append(item)
        return missing


@lru_cache(maxsize=65536)
def _fact_kinds(sentence: str) -> tuple[frozenset[str], bool]:
    """The kinds of fact the sentence carries and whether it has a number or a name (cached: the same
    sentences of the top chunks are scored for many questions, and the regexes were most of an answer's cost)."""
    proper = bool(_PROPER.search(sentence))
    contact = bool(_CONTACT.search(sentence))
    number = bool(_NUMBER.search(sentence))
    duration = bool(_DURATION.search(sentence))
    clock = bool(_CLOCK.search(sentence))
    day = bool(_DAY.search(sentence))
    has = {
        "clock": clock,
        "day": day,
        "contact": contact,
        "link": bool(_LINK.search(sentence)),
        "quantity": bool(_MONEY.search(sentence)) or duration or number,
        # A "when" is answered by a date, a weekday, a clock time or a delay alike.
        "time": bool(_DATE.search(sentence)) or duration or clock or day,
        "person": contact or proper,
        "name": proper or contact,
    }
    return frozenset(k for k, v in has.items() if v), number or proper


def fact_score(sentence: str, kinds: frozenset[str]) -> float:
    """How well the sentence carries the kind of fact the question asks for (0..1)."""
    has, specific = _fact_kinds(sentence)
    generic = 0.5 if specific else 0.0
    if not kinds:
        return generic
    # The mean rewards sentences that fit every cue: "what time" wants a clock time, not just a duration.
    return len(kinds & has) / len(kinds) * 0.8 + generic * 0.2


def sentence_score(
    analyzer: Analyzer, question: Question, sentence: str, context_terms: frozenset[str], prior: float
) -> float:
    """Overlap of the question with the sentence read under its heading, answer-type fit, chunk relevance."""
    overlap = analyzer.coverage(question, context_terms)
    fit = fact_score(sentence, question.kinds)
    length = len(sentence.split())
    brevity = 0.0 if 5 <= length <= 60 else -0.15
    # Signposts ("This page explains ...", "See ...") echo the question's words but state no fact.
    meta = -0.3 if _META.match(sentence) else 0.0
    return overlap + FIT_WEIGHT * fit + PRIOR_WEIGHT * prior + brevity + meta
