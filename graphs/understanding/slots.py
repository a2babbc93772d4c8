"""Slot extraction without an LLM: e-mails, names, invoice numbers, amounts, dates, bank details and
known entities (people, groups, vendors) fuzzily matched against the directory and the AP ledger."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from rapidfuzz import fuzz, process

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

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
MONTH_NAMES = "january february march april may june july august september october november december"
MONTHS = {m: i + 1 for i, m in enumerate(MONTH_NAMES.split())}


@dataclass(frozen=True)
class Person:
    email: str
    name: str


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

    def set(self, name: str, value: str, conf: float) -> None:
        if name not in self.values or conf > self.confidence.get(name, 0.0):
            self.values[name] = value
            self.confidence[name] = round(conf, 3)


def _words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z0-9][A-Za-z0-9&.'’-]*", text)


def _ngrams(words: list[str], max_n: int = 3) -> list[str]:
    out = []
    for n in range(max_n, 0, -1):
        for i in range(len(words) - n + 1):
            gram = " ".join(words[i : i + n])
            if n == 1 and (gram.lower() in lexicon().stop_words or len(gram) < 3):
                continue
            out.append(gram)
    return out


class SlotExtractor:
    """Extracts typed slot values from one message."""

    def __init__(self, entities: Entities, today: date | None = None) -> None:
        self.entities = entities
        self.today = today
        self._people_names = {p.name.lower(): p for p in entities.people}
        firsts: dict[str, list[Person]] = {}
        for p in entities.people:
            firsts.setdefault(p.name.split()[0].lower(), []).append(p)
        self._unique_first = {k: v[0] for k, v in firsts.items() if len(v) == 1}
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
        words = _words(stripped)
        best: tuple[float, Person | None] = (0.0, None)
        for gram in _ngrams(words, 3):
            low = gram.lower().rstrip("'’s")
            if low in self._people_names:
                best = max(best, (1.0, self._people_names[low]), key=lambda b: b[0])
            elif " " not in low and low in self._unique_first:
                best = max(best, (0.8, self._unique_first[low]), key=lambda b: b[0])
        if best[1] is None and self._people_names:
            for gram in _ngrams(words, 2):
                if " " not in gram:
                    continue
                hit = process.extractOne(gram.lower(), list(self._people_names), scorer=fuzz.ratio)
                if hit and hit[1] >= 85:
                    best = max(best, (hit[1] / 100 * 0.9, self._people_names[hit[0]]), key=lambda b: b[0])
        if best[1] is not None:
            slots.set("user", best[1].email, best[0])
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
        words = _words(EMAIL.sub(" ", text))
        best: tuple[str, float] | None = None
        keys = list(aliases)
        for word in words:  # short exact names such as "HR" or "IT"
            if 2 <= len(word) < 3 and word.lower() in aliases:
                best = (aliases[word.lower()], 1.0)
        for gram in _ngrams(words, 3):
            low = gram.lower()
            low = low[:-2] if low.endswith(("'s", "’s")) else low.rstrip(".,")
            starts = {aliases[k] for k in keys if prefixes and len(low) >= 3 and k.startswith(low)}
            if low in aliases:
                cand = (aliases[low], 1.0)
            elif len(starts) == 1 and " " not in low and low not in lexicon().stop_words:
                cand = (starts.pop(), 0.8)  # "eng" for engineering
            else:
                hit = process.extractOne(low, keys, scorer=fuzz.ratio) if keys else None
                if not hit or hit[1] < min_score:
                    continue
                cand = (aliases[hit[0]], hit[1] / 100 * 0.9)
            if best is None or cand[1] > best[1]:
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
