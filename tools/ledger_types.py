"""Plain result types and typed errors of the AP ledger (no ORM objects cross this line)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

HoldOutcome = Literal["placed", "already_held", "released", "not_held"]


class LedgerError(Exception):
    """A ledger operation was refused; `message` is safe to show to the user as is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvoiceNotFound(LedgerError):
    pass


class VendorNotFound(LedgerError):
    def __init__(self, message: str, suggestions: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.suggestions = suggestions


class HoldNotAllowed(LedgerError):
    """The invoice cannot be held (already paid, or rejected)."""


class InvalidRequest(LedgerError):
    """The request itself is malformed (e.g. bank details that fail their checksum)."""


def normalise_invoice_id(text: str) -> str:
    """'inv 10042', 'INV-10042' and '#10042' all mean INV-10042."""
    match = re.search(r"(\d{3,12})", text or "")
    if match is None:
        raise InvalidRequest(f"{text!r} does not look like an invoice number (for example INV-10042).")
    return f"INV-{match.group(1)}"


def format_money(amount: Decimal, currency: str) -> str:
    """$48,250.00 for USD, 'EUR 1,200.00' otherwise; never goes through float."""
    text = f"{amount:,.2f}"
    return f"${text}" if currency == "USD" else f"{currency} {text}"


@dataclass(frozen=True)
class HoldInfo:
    reason: str
    placed_by: str
    placed_at: datetime


@dataclass(frozen=True)
class InvoiceInfo:
    invoice_id: str
    vendor: str
    vendor_id: str
    amount: Decimal
    currency: str
    issue_date: date
    due_date: date
    status: str  # pending | approved | rejected | paid
    po_number: str | None
    description: str | None
    payment_run_id: str | None
    payment_date: date | None  # the date of its payment run (paid on, or scheduled for)
    payment_run_status: str | None  # scheduled | completed
    hold: HoldInfo | None

    @property
    def scheduled(self) -> bool:
        """Approved, in a payment run that has not happened yet (a hold may still stop it)."""
        return self.status == "approved" and self.payment_run_status == "scheduled"


@dataclass(frozen=True)
class VendorInfo:
    id: str
    name: str
    aliases: tuple[str, ...]
    payment_terms: str
    bank_account: str  # masked: ••••1234
    contact_name: str | None
    contact_email: str | None


@dataclass(frozen=True)
class VendorSummary:
    vendor: str
    vendor_id: str
    payment_terms: str
    currency: str
    open_invoices: tuple[InvoiceInfo, ...]  # pending or approved, by due date
    open_total: Decimal
    next_payment_date: date | None  # the earliest scheduled run holding an unheld open invoice
    next_payment_amount: Decimal
    next_payment_invoices: tuple[str, ...]


@dataclass(frozen=True)
class HoldResult:
    invoice_id: str
    vendor: str
    amount: Decimal
    currency: str
    outcome: HoldOutcome
    reason: str | None
    by: str | None  # who placed (or released) the hold
    at: datetime | None
    payment_date: date | None
    replayed: bool = False  # True when this idempotency key had already been used


@dataclass(frozen=True)
class ChangeRequest:
    """A bank-detail change request, pending call-back verification. Digits are always masked."""

    id: str  # BCR-00001
    vendor: str
    vendor_id: str
    account_kind: str  # account | iban
    new_account: str  # ••••1234
    routing_hint: str | None
    current_account: str  # ••••4821: the live account, unchanged
    status: str
    requested_by: str
    requested_at: datetime
    replayed: bool = False
