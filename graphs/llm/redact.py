"""Personal data out of model requests: e-mails, phone numbers, IBANs/account numbers and known people's
names (full names, @handles, and a first name used as a person's) become stable placeholders before a
request leaves the process, and are put back in the reply."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from typing import Any

import phonenumbers
from stdnum import iban as stdnum_iban

from graphs.understanding.patterns import ACCOUNT, EMAIL, IBAN, ROUTING
from graphs.understanding.people import PeopleFinder, Person

KINDS = ("email", "phone", "iban", "account", "person")
# A bare run of 8-17 digits (spaces or dashes allowed) is treated as an account number even without the
# word "account" in front: invoice ids (5 digits), amounts and years are shorter.
BARE_DIGITS = re.compile(r"(?<![\w-])(?!\d{4}-\d{2}-\d{2}\b)\d(?:[ -]?\d){7,16}(?![\w-])")  # not ISO dates
PLACEHOLDER = re.compile(r"<(EMAIL|PHONE|IBAN|ACCOUNT|PERSON)_(\d+)>")
PHONE_REGION = "US"  # numbers without a country code are read as North American


class Redactor:
    """One request scope's mapping of personal values to placeholders (same value → same placeholder).

    The recognisers are maintained libraries where one fits offline: `phonenumbers` (libphonenumber) finds
    phone numbers, `python-stdnum` validates IBANs; e-mails and account numbers use the slot extractor's
    patterns (one definition). Presidio was considered: its analyzer needs spaCy and a language model,
    which this offline deployment does not ship.
    """

    def __init__(self, people: Iterable[str] = (), keep: Collection[str] = ()) -> None:
        self.keep = {k.lower() for k in keep}
        self.values: dict[str, str] = {}  # placeholder -> original
        self._by_value: dict[str, str] = {}
        names = sorted({p.strip() for p in people if p and len(p.strip()) > 1}, key=len, reverse=True)
        self.people_names = tuple(names)
        # Full names and @handles anywhere; a lone first name where the sentence puts a person ("can you add
        # Carol…", "ask @sam") but not as an ordinary word ("the grace period"): the slot extractor's rules.
        self._people = (
            PeopleFinder(Person(email="", name=n) for n in names) if names and "person" not in self.keep else None
        )

    def _placeholder(self, kind: str, value: str) -> str:
        key = f"{kind}:{value.casefold()}"
        if key not in self._by_value:
            count = sum(1 for p in self.values if p.startswith(f"<{kind}_")) + 1
            placeholder = f"<{kind}_{count}>"
            self._by_value[key] = placeholder
            self.values[placeholder] = value
        return self._by_value[key]

    def _sub(self, pattern: re.Pattern[str], kind: str, text: str, group: int = 0) -> str:
        def swap(m: re.Match[str]) -> str:
            whole, part = m.group(0), m.group(group)
            return whole.replace(part, self._placeholder(kind, part))

        return pattern.sub(swap, text)

    def redact(self, text: str) -> str:
        if "email" not in self.keep:
            text = self._sub(EMAIL, "EMAIL", text)
        if "iban" not in self.keep:
            text = IBAN.sub(self._iban, text)
        if "account" not in self.keep:
            text = self._sub(ACCOUNT, "ACCOUNT", text, group=1)
            text = self._sub(ROUTING, "ACCOUNT", text, group=1)
        if "phone" not in self.keep:
            text = self._phones(text)
        if "account" not in self.keep:
            text = self._sub(BARE_DIGITS, "ACCOUNT", text)
        if self._people is not None:
            spans = [
                (m.start, m.end, self._placeholder("PERSON", text[m.start : m.end])) for m in self._people.find(text)
            ]
            for start, end, placeholder in reversed(spans):  # numbered in reading order, replaced from the end
                text = text[:start] + placeholder + text[end:]
        return text

    def _iban(self, m: re.Match[str]) -> str:
        value = m.group(1)
        kind = "IBAN" if stdnum_iban.is_valid(value) else "ACCOUNT"  # IBAN-shaped but failing the checksum
        return m.group(0).replace(value, self._placeholder(kind, value))

    def _phones(self, text: str) -> str:
        out, last = [], 0
        for match in phonenumbers.PhoneNumberMatcher(text, PHONE_REGION):
            raw, start = match.raw_string, match.start
            if PLACEHOLDER.search(raw):
                continue
            if raw.startswith("(") and ")" not in raw:  # "(+1 415 …)": the bracket belongs to the text
                raw, start = raw[1:], start + 1
            out.append(text[last:start])
            out.append(self._placeholder("PHONE", raw))
            last = match.end
        out.append(text[last:])
        return "".join(out)

    def restore(self, value: Any) -> Any:
        """Put the original values back into a reply (strings, and tool arguments at any depth)."""
        if isinstance(value, str):
            return PLACEHOLDER.sub(lambda m: self.values.get(m.group(0), m.group(0)), value)
        if isinstance(value, dict):
            return {k: self.restore(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.restore(v) for v in value]
        return value
