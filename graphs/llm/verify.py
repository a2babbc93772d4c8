"""Checks a generated answer sentence by sentence before it is sent: each sentence must cite a passage,
every number, e-mail and proper noun in it must appear in (or be normalised from) a passage it cites, its
words must be supported by that passage, and it must not carry an instruction found in a document."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from graphs.understanding.patterns import EMAIL
from tools.yaml_text import parse_yaml

VOCABULARY = Path(__file__).with_name("verify.yaml")
CITE = re.compile(r"\[(\d+)\]")
NUMBER = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")
WORD = re.compile(r"[A-Za-z][A-Za-z0-9'’&-]*")
PROPER = re.compile(r"\b[A-Z][A-Za-z0-9&-]*[A-Za-z0-9]|\b[A-Z]\b")
MIN_SUPPORT = 0.6  # share of a sentence's content words found in the passages it cites
STEM = 5  # words compared on their first five letters ("approvals" ~ "approved" is not wanted; "policy"~"policies")


@dataclass(frozen=True)
class Verdict:
    sentence: str  # as the model wrote it (placeholders restored)
    kept: bool
    reason: str  # "ok" or why it was dropped
    cites: tuple[int, ...]


def _norm_number(text: str) -> str:
    value = text.replace(",", "")
    if "." in value:
        value = value.rstrip("0").rstrip(".")
    return value


def _stem(word: str) -> str:
    return word.lower().replace("’", "'")[:STEM]


@dataclass
class Verifier:
    """The rules over one set of numbered passages (already stripped of instruction-like sentences)."""

    passages: dict[int, str]
    vocabulary: dict[str, Any] = field(default_factory=lambda: load_vocabulary())

    @cached_property
    def _injection(self) -> list[re.Pattern[str]]:
        return [re.compile(p, re.I) for p in self.vocabulary["injection"]]

    def numbers(self, text: str) -> set[str]:
        found = {_norm_number(m) for m in NUMBER.findall(text)}
        words = self.vocabulary["number_words"]
        found |= {str(words[w.lower()]) for w in WORD.findall(text) if w.lower() in words}
        return found

    def check(self, sentence: str) -> Verdict:
        cites = tuple(int(n) for n in CITE.findall(sentence))
        body = CITE.sub(" ", sentence).strip()
        if not cites:
            return Verdict(sentence, False, "no citation", cites)
        if any(n not in self.passages for n in cites):
            return Verdict(sentence, False, "cites a passage that does not exist", cites)
        if any(p.search(body) for p in self._injection):
            return Verdict(sentence, False, "repeats an instruction aimed at the assistant", cites)
        source = " ".join(self.passages[n] for n in cites)
        low = source.lower()
        missing_numbers = self.numbers(body) - self.numbers(source)
        if missing_numbers:
            return Verdict(sentence, False, f"number not in the cited passage: {sorted(missing_numbers)[0]}", cites)
        for email in EMAIL.findall(body):
            if email.lower() not in low:
                return Verdict(sentence, False, "e-mail address not in the cited passage", cites)
        stems = {_stem(w) for w in WORD.findall(source)}
        for name in self._proper_nouns(body):
            if not re.search(rf"\b{re.escape(name.lower())}\b", low) and _stem(name) not in stems:
                return Verdict(sentence, False, f"name not in the cited passage: {name}", cites)
        content = [w for w in WORD.findall(EMAIL.sub(" ", body)) if w.lower() not in self._function_words]
        if content:
            supported = sum(1 for w in content if _stem(w) in stems)
            if supported / len(content) < MIN_SUPPORT:
                return Verdict(sentence, False, "not supported by the cited passage", cites)
        return Verdict(sentence, True, "ok", cites)

    @cached_property
    def _function_words(self) -> set[str]:
        return {str(w) for w in self.vocabulary["function_words"]}

    def _proper_nouns(self, body: str) -> list[str]:
        openers = {str(w) for w in self.vocabulary["sentence_openers"]}
        names = []
        for m in PROPER.finditer(body):
            word = m.group(0)
            at_start = not body[: m.start()].strip(" \"'(")
            if at_start and word.lower() in openers:
                continue
            if word.lower() in self.vocabulary["number_words"]:
                continue
            names.append(word)
        return names

    def instruction_like(self, sentence: str) -> bool:
        return any(p.search(sentence) for p in self._injection)


def load_vocabulary(path: Path = VOCABULARY) -> dict[str, Any]:
    data: dict[str, Any] = parse_yaml(path.read_text(encoding="utf-8"))
    return data
