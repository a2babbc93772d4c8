"""Slot extraction without an LLM: e-mails, names, invoice numbers, amounts, dates, bank details and
known entities (people, groups, vendors) fuzzily matched against the directory and the AP ledger."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from graphs.understanding.lexicon import lexicon
from graphs.understanding.patterns import (
    ACCOUNT,
    AMOUNT,
    BANK_WORDS,
    BARE_NUMBER,
    CAPITALISED,
    EMAIL,
    IBAN,
    INVOICE,
    ISO_DATE,
    MONTH_DATE,
    NAME_AFTER,
    ROUTING,
)
from graphs.understanding.people import PeopleFinder, Person

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
MONTH_NAMES = "january february march april may june july august september october november december"
MONTHS = {m: i + 1 for i, m in enumerate(MONTH_NAMES.split())}


@dataclass
class Entities:
    """What slot extraction can match against; refreshed from the directory and the ledger."""

    people: list[Person] = field(default_factory=list)
    groups: dict[str, list[str]] = field(default_factory=dict)  # name -> aliases (display name, …)
    vendors: dict[str, list[str]] = field(default_factory=dict)  # canonical name -> aliases


@dataclass
class Slots:
    values: dict[str, str] = field(default_factory=dict)
    confidence: dict[str, float] = field(default_factory=dict)
    # People a shared first name could mean ("Sam" with two Sams): asked about, never guessed.
    user_options: list[Person] = field(default_factory=list)

    def set(self, name: str, value: str, conf: float) -> None:
        if name not in self.values or conf > self.confidence.get(name, 0.0):
            self.values[name] = value
            self.confidence[name] = round(conf, 3)


def _words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z0-9][A-Za-z0-9&.'’-]*", text)


class SlotExtractor:
    """Extracts typed slot values from one message."""

    def __init__(self, entities: Entities, today: date | None = None) -> None:
        self.entities = entities
        self.today = today
        self.people = PeopleFinder(entities.people)
        self._emails = {p.email.lower(): p for p in entities.people}
        self._group_alias: dict[str, str] = {}
        for name, aliases in entities.groups.items():
            for alias in [name, name.replace("-", " "), *aliases]:
                self._group_alias[alias.lower()] = name
        self._vendor_alias: dict[str, str] = {}
        for name, aliases in entities.vendors.items():
            for alias in [name, *aliases]:
                self._vendor_alias[alias.lower()] = name

    def extract(self, text: str) -> Slots:
        slots = Slots()
        self._emails_and_people(text, slots)
        self._invoice(text, slots)
        self._amount(text, slots)
        self._date(text, slots)
        self._bank(text, slots)
        self._groups(text, slots)
        self._vendors(text, slots)
        return slots

    # -- people -----------------------------------------------------------------------------
    def _emails_and_people(self, text: str, slots: Slots) -> None:
        for match in EMAIL.finditer(text):
            email = match.group(0).lower()
            slots.set("email", email, 1.0)
            slots.set("user", email, 1.0 if email in self._emails else 0.9)
        stripped = EMAIL.sub(" ", text)
        mentions = self.people.find(text)
        named = [(m.person, m.confidence) for m in mentions if m.person is not None]
        if named:
            person, conf = max(named, key=lambda pc: pc[1])
            slots.set("user", person.email, conf)
        elif mentions and "user" not in slots.values:
            slots.user_options = list(mentions[0].candidates)
        new = NAME_AFTER.search(stripped)
        if new:
            slots.set("name", new.group(1).strip(), 0.9)
        else:
            for match in CAPITALISED.finditer(stripped):
                candidate = match.group(1)
                first = candidate.split()[0].lower()
                known = candidate.lower() in self._group_alias or candidate.lower() in self._vendor_alias
                if first in lexicon().not_names or known:
                    continue
                slots.set("name", candidate, 0.75)
                break

    # -- AP ---------------------------------------------------------------------------------
    def _invoice(self, text: str, slots: Slots) -> None:
        match = INVOICE.search(text)
        if match:
            slots.set("invoice_id", f"INV-{int(match.group(1)):05d}", 1.0)

    def _amount(self, text: str, slots: Slots) -> None:
        for match in AMOUNT.finditer(text):
            try:
                if match.group(4):
                    value = Decimal(match.group(3)) * 1000
                else:
                    value = Decimal(match.group(1).replace(",", "") + "." + (match.group(2) or "0"))
            except (InvalidOperation, TypeError):
                continue
            slots.set("amount", str(value.quantize(Decimal("0.01"))), 0.95)
            return

    def _date(self, text: str, slots: Slots) -> None:
        iso = ISO_DATE.search(text)
        if iso:
            slots.set("start_date", iso.group(0), 1.0)
            return
        named = MONTH_DATE.search(text)
        if named:
            day, month = (named.group(1), named.group(2)) if named.group(1) else (named.group(4), named.group(3))
            number = MONTHS.get(month.lower()) or next(
                (v for k, v in MONTHS.items() if len(month) >= 3 and k.startswith(month.lower())), None
            )
            if number:
                try:
                    slots.set("start_date", date(int(named.group(5)), number, int(day)).isoformat(), 0.95)
                    return
                except ValueError:
                    pass  # not a real date: leave the slot empty and ask
        if self.today is None:
            return
        low = text.lower()
        if "tomorrow" in low:
            slots.set("start_date", (self.today + timedelta(days=1)).isoformat(), 0.9)
            return
        for i, day in enumerate(WEEKDAYS):
            if re.search(rf"\b{day}\b", low):
                ahead = (i - self.today.weekday()) % 7 or 7
                slots.set("start_date", (self.today + timedelta(days=ahead)).isoformat(), 0.85)
                return

    def _bank(self, text: str, slots: Slots) -> None:
        iban = IBAN.search(text)
        if iban:
            slots.set("iban", iban.group(1).replace(" ", ""), 0.95)
        acct = ACCOUNT.search(text)
        if acct:
            slots.set("account_number", re.sub(r"[ -]", "", acct.group(1)), 0.95)
        elif BANK_WORDS.search(text) and "iban" not in slots.values:
            numbers = [m.group(1) for m in BARE_NUMBER.finditer(INVOICE.sub(" ", text))]
            if numbers:
                slots.set("account_number", max(numbers, key=len), 0.8)
        routing = ROUTING.search(text)
        if routing:
            slots.set("routing_number", re.sub(r"[ -]", "", routing.group(1)), 0.95)

    # -- groups and vendors -----------------------------------------------------------------
    def _match(
        self, text: str, aliases: dict[str, str], min_score: int = 88, prefixes: bool = False
    ) -> tuple[str, float] | None:
        """The best alias named in `text`: exactly, misspelt as a whole word ("desgin"), or (groups) shortened
        where a group belongs ("to eng", "the fin team"); never a part of another word ("star" is not
        "Stark", "engine" not "engineering")."""
        words = _words(EMAIL.sub(" ", text))
        best: tuple[str, float] | None = None
        keys = list(aliases)
        lows = [w.lower().rstrip(".,") for w in words]
        stop = lexicon().stop_words
        for i, word in enumerate(words):  # short names such as "HR" or "IT" ("it" only as written or in place)
            plain = lows[i] not in stop or word.isupper() or _group_place(lows, i)
            if 2 <= len(word) < 3 and lows[i] in aliases and plain:
                best = (aliases[lows[i]], 1.0)
        for n in range(3, 0, -1):
            for i in range(len(words) - n + 1):
                low = " ".join(lows[i : i + n])
                low = low[:-2] if low.endswith(("'s", "’s")) else low
                if n == 1 and (low in lexicon().stop_words or len(low) < 3):
                    continue
                if low in aliases:
                    cand: tuple[str, float] | None = (aliases[low], 1.0)
                elif n == 1:
                    shortened = prefixes and (_group_place(lows, i) or words[i].isupper())  # "to eng", "VPN access"
                    cand = _abbreviation(low, aliases) if shortened else None
                    cand = cand or (_same_stem(low, aliases) if prefixes else None) or _misspelt_word(low, aliases)
                else:
                    same_shape = [k for k in keys if k.count(" ") == n - 1 and _word_by_word(low, k)]
                    hit = process.extractOne(low, same_shape, scorer=fuzz.ratio) if same_shape else None
                    cand = (aliases[hit[0]], hit[1] / 100 * 0.9) if hit and hit[1] >= min_score else None
                if cand is not None and (best is None or cand[1] > best[1]):
                    best = cand
        return best

    def _groups(self, text: str, slots: Slots) -> None:
        found = self._match(text, self._group_alias, min_score=80, prefixes=True)
        if found:
            slots.set("group", found[0], found[1])
            slots.set("department", found[0], found[1])

    def _vendors(self, text: str, slots: Slots) -> None:
        found = self._match(text, self._vendor_alias, min_score=85)
        if found:
            slots.set("vendor", found[0], found[1])


def _group_place(lows: list[str], i: int) -> bool:
    """The word stands where a group name goes: "to eng", "in hr", "the fin team"."""
    words = lexicon()
    before, after = (lows[i - 1] if i else ""), (lows[i + 1] if i + 1 < len(lows) else "")
    return before in words.group_before or after in words.group_after


def _abbreviation(low: str, aliases: dict[str, str]) -> tuple[str, float] | None:
    """ "eng" for engineering: a short start of exactly one alias."""
    if not 3 <= len(low) <= 4:
        return None
    starts = {aliases[k] for k in aliases if k.startswith(low)}
    return (starts.pop(), 0.8) if len(starts) == 1 else None


def _stems(word: str) -> set[str]:
    return {word} | {
        word[: -len(e)] for e in lexicon().group_word_endings if word.endswith(e) and len(word) - len(e) >= 5
    }


def _same_stem(low: str, aliases: dict[str, str]) -> tuple[str, float] | None:
    """ "designers" for design, "engineer" for engineering: the same word with another ending."""
    mine = _stems(low)
    names = {aliases[k] for k in aliases if " " not in k and mine & _stems(k)}
    return (names.pop(), 0.85) if len(names) == 1 else None


def _word_by_word(gram: str, alias: str) -> bool:
    """A misspelt several-word alias is misspelt word by word ("accounts payble"): each word is the alias's
    word or one slip away from it with the same first letter ("it rains" is not "it admins")."""
    for mine, theirs in zip(gram.split(), alias.split(), strict=True):
        if mine != theirs and (
            mine[0] != theirs[0] or OSA.distance(mine, theirs) > 1 or min(len(mine), len(theirs)) < 4
        ):
            return False
    return True


def _misspelt_word(low: str, aliases: dict[str, str]) -> tuple[str, float] | None:
    """A one-word alias of six letters or more typed with one slip (two from nine letters): same first
    letter, and not a shorter or longer word that merely shares its start ("star" / "stark", "designed" /
    "design"). Shorter words are too close to other real words ("start" / "stark") to guess."""
    best: tuple[str, float] | None = None
    for alias, name in aliases.items():
        if " " in alias or min(len(alias), len(low)) < 6 or alias[0] != low[0]:
            continue
        if alias.startswith(low) or low.startswith(alias):
            continue
        slips = OSA.distance(low, alias)
        if slips <= (2 if min(len(low), len(alias)) >= 9 else 1):
            score = (1 - slips / max(len(low), len(alias))) * 0.9
            if best is None or score > best[1]:
                best = (name, round(score, 3))
    return best
