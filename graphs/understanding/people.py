"""Which people of the directory a message names: a full name, an @handle, or a lone first name where the
sentence puts a person (after "add", "for", "ask"…, before "is", "asked", "works"…, with an @ or a
possessive, or capitalised inside a sentence). A first name is never read inside an ordinary phrase
("the grace period", "be frank with me", "the victor") nor as part of another person's name ("Grace
Hopper"). One finder serves slot extraction, the privacy check and the masking of model requests."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from graphs.understanding.lexicon import lexicon
from graphs.understanding.patterns import EMAIL

TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9&'’.-]*")
FUZZY_MIN = 85  # a misspelt full name ("Maya Patl") still counts, with lower confidence


@dataclass(frozen=True)
class Person:
    email: str
    name: str

    @property
    def parts(self) -> list[str]:
        return self.name.lower().split()


@dataclass(frozen=True)
class Mention:
    """A span of the message that names someone; several candidates when a shared first name is used."""

    start: int
    end: int
    candidates: tuple[Person, ...]
    confidence: float

    @property
    def person(self) -> Person | None:
        return self.candidates[0] if len(self.candidates) == 1 else None


@dataclass(frozen=True)
class _Token:
    start: int
    end: int
    raw: str  # as written, without a trailing possessive or full stop
    low: str
    at: bool  # written as an @handle
    possessive: bool
    sentence_start: bool

    @property
    def capitalised(self) -> bool:
        return self.raw[:1].isupper()


def _tokens(text: str) -> list[_Token]:
    out = []
    for m in TOKEN.finditer(text):
        raw = m.group(0).rstrip(".-")
        possessive = bool(re.search(r"\w['’]s$", raw)) or bool(re.search(r"s['’]$", raw))  # "Carol's", "Leo Martins'"
        raw = re.sub(r"['’]s?$", "", raw) if possessive else raw.rstrip("'’")  # a closing quote is not the name's
        at = text[m.start() - 1 : m.start()] == "@"
        j = m.start() - at
        while j > 0 and text[j - 1] in " \t":
            j -= 1
        sentence_start = j == 0 or text[j - 1] in ".!?:;\n"
        out.append(_Token(m.start() - at, m.start() + len(raw), raw, raw.lower(), at, possessive, sentence_start))
    return out


class PeopleFinder:
    """Finds mentions of known people (e-mails excepted: they are matched exactly by their pattern)."""

    def __init__(self, people: Iterable[Person]) -> None:
        self.people = list(people)
        self._full = {p.name.lower(): p for p in self.people if len(p.parts) >= 2}
        self._first: dict[str, list[Person]] = {}
        self._local: dict[str, Person] = {}
        for p in self.people:
            if p.parts:
                self._first.setdefault(p.parts[0], []).append(p)
            if "@" in p.email:
                local = p.email.split("@")[0].lower()
                self._local[local] = p
                self._local[re.sub(r"[._-]", "", local)] = p
            if len(p.parts) >= 2:  # "@grace.kim", "@grace_kim", "@gracekim" for Grace Kim
                for sep in (".", "_", "-", ""):
                    self._local.setdefault(sep.join(p.parts), p)

    def first_names(self) -> dict[str, list[Person]]:
        return self._first

    def find(self, text: str) -> list[Mention]:
        tokens = _tokens(EMAIL.sub(lambda m: " " * len(m.group(0)), text))
        used: set[int] = set()
        found: list[Mention] = []
        for i, tok in enumerate(tokens):  # @handles first: "@grace.kim", "@sam"
            if tok.at or re.search(r"\w[._]\w", tok.low):  # "@grace.kim", or "grace.kim" written bare
                person = self._local.get(tok.low)
                if person is not None:
                    found.append(Mention(tok.start, tok.end, (person,), 1.0))
                    used.add(i)
        for n in (3, 2):  # whole full names, longest first
            for i in range(len(tokens) - n + 1):
                span = range(i, i + n)
                if used & set(span) or any(tokens[j].possessive for j in span[:-1]):
                    continue
                person = self._full.get(" ".join(tokens[j].low for j in span))
                if person is not None:
                    found.append(Mention(tokens[i].start, tokens[i + n - 1].end, (person,), 1.0))
                    used.update(span)
        named = {p for m in found for p in m.candidates}  # "Carol Diaz … ask carol": the same Carol
        for i, tok in enumerate(tokens):
            if i in used or tok.low not in self._first or self._in_proper_name(tokens, i):
                continue
            candidates = tuple(self._first[tok.low])
            again = tuple(p for p in candidates if p in named)
            if again and not (i and tokens[i - 1].low in lexicon().determiners):
                candidates = again
            elif not self._person_place(tokens, i):
                continue
            if self._other_surname(tokens, i, candidates):
                continue
            found.append(Mention(tok.start, tok.end, candidates, 0.8))
            used.add(i)
        if not found and self._full:
            found += self._misspelt(tokens)
        return sorted(found, key=lambda m: m.start)

    def _person_place(self, tokens: list[_Token], i: int) -> bool:
        """A lone first name stands where a person does, not inside an ordinary phrase."""
        words = lexicon()
        tok = tokens[i]
        prev = tokens[i - 1].low if i > 0 else ""
        after = tokens[i + 1].low if i + 1 < len(tokens) else ""
        if prev in words.determiners and not tok.at:
            return False  # "the victor", "my grace period": names take no article
        return (
            tok.at
            or tok.possessive
            or prev in words.person_before
            or after in words.person_after
            or (tok.capitalised and not tok.sentence_start)
        )

    @staticmethod
    def _in_proper_name(tokens: list[_Token], i: int) -> bool:
        """ "San Diego", "Lake Grace", "ruth's steakhouse": a first name inside a place's or a business's name.
        Cue words ("Ask Diego"), titles ("Dr Grace") and acronyms ("HR Grace") before a name leave it a person's,
        and so does a possessive before anything but a word for a place of business ("Carol's title")."""
        words = lexicon()
        tok = tokens[i]
        if tok.at:
            return False
        if tok.possessive:
            return i + 1 < len(tokens) and words.business_word(tokens[i + 1].low)
        if i == 0:
            return False
        prev = tokens[i - 1]
        gap = tok.start - prev.end
        if prev.possessive or gap > 2:
            return False
        if prev.low in words.place_starts:  # "San Diego", "St. Grace"
            return True
        return (
            gap == 1
            and tok.capitalised
            and prev.capitalised
            and not prev.sentence_start  # "Maybe Diego knows"
            and not prev.raw.isupper()  # "HR Grace", "CFO Kate"
            and prev.low not in words.person_titles | words.not_names | words.person_before | words.person_after
        )

    @staticmethod
    def _other_surname(tokens: list[_Token], i: int, candidates: tuple[Person, ...]) -> bool:
        """ "Grace Hopper": a capitalised word right after the first name that is none of the candidates'
        surnames makes it someone else's name."""
        if i + 1 >= len(tokens) or tokens[i].possessive:
            return False
        nxt = tokens[i + 1]
        if not nxt.capitalised or nxt.sentence_start or len(nxt.low) < 2 or nxt.low in lexicon().not_names:
            return False
        if nxt.start - tokens[i].end > 1:  # "Sam, Taylor…": not one name
            return False
        return not any(len(p.parts) > 1 and p.parts[1].startswith(nxt.low) for p in candidates)

    def _misspelt(self, tokens: list[_Token]) -> list[Mention]:
        best: Mention | None = None
        names = list(self._full)
        stop = lexicon().stop_words
        for i in range(len(tokens) - 1):
            a, b = tokens[i], tokens[i + 1]
            if a.low in stop or b.low in stop or len(a.low) < 2 or len(b.low) < 2:
                continue
            hit = process.extractOne(f"{a.low} {b.low}", names, scorer=fuzz.ratio)
            if hit and hit[1] >= FUZZY_MIN and (best is None or hit[1] / 100 * 0.9 > best.confidence):
                best = Mention(a.start, b.end, (self._full[hit[0]],), hit[1] / 100 * 0.9)
        return [best] if best else []
