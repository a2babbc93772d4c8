"""Checking and masking bank details (US account + ABA routing number, or IBAN + BIC)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_BIC = re.compile(r"^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$")


class InvalidBankDetails(ValueError):
    """The details are malformed; the message says what is wrong without repeating the digits."""


@dataclass(frozen=True)
class BankDetails:
    """Normalised new details. Callers keep only `last4` and `routing_hint`, never the full number."""

    kind: str  # "account" | "iban"
    last4: str
    routing_hint: str | None

    @property
    def masked(self) -> str:
        return mask(self.last4)


def mask(last4: str) -> str:
    return f"••••{last4}"


def _compact(value: str) -> str:
    return re.sub(r"[\s-]", "", value).upper()


def aba_checksum_ok(routing: str) -> bool:
    """ABA routing numbers carry a weighted checksum (3, 7, 1) that must be a multiple of 10."""
    digits = [int(c) for c in routing]
    weights = (3, 7, 1) * 3
    return sum(d * w for d, w in zip(digits, weights, strict=True)) % 10 == 0


def iban_ok(iban: str) -> bool:
    """ISO 13616: move the first four characters to the end, letters to numbers, mod 97 == 1."""
    rearranged = iban[4:] + iban[:4]
    number = "".join(str(int(c, 36)) for c in rearranged)
    return int(number) % 97 == 1


def parse_bank_details(
    account_number: str | None = None,
    routing_number: str | None = None,
    iban: str | None = None,
    bic: str | None = None,
) -> BankDetails:
    """Validate exactly one of (account number + routing number) or (IBAN [+ BIC])."""
    if bool(account_number) == bool(iban):
        raise InvalidBankDetails("Give either a bank account number with its routing number, or an IBAN.")
    if iban:
        value = _compact(iban)
        if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", value) or not iban_ok(value):
            raise InvalidBankDetails("That IBAN is not valid (its check digits do not match).")
        hint = None
        if bic:
            code = _compact(bic)
            if not _BIC.fullmatch(code):
                raise InvalidBankDetails("That BIC/SWIFT code is not valid (8 or 11 letters and digits).")
            hint = code[:4] + "…"
        return BankDetails("iban", value[-4:], hint)
    assert account_number is not None
    value = _compact(account_number)
    if not re.fullmatch(r"\d{4,17}", value):
        raise InvalidBankDetails("A bank account number has 4 to 17 digits.")
    if not routing_number:
        raise InvalidBankDetails("A US bank account change needs the 9-digit ABA routing number too.")
    routing = _compact(routing_number)
    if not re.fullmatch(r"\d{9}", routing) or not aba_checksum_ok(routing):
        raise InvalidBankDetails("That routing number is not a valid 9-digit ABA routing number.")
    return BankDetails("account", value[-4:], mask(routing[-4:]))
