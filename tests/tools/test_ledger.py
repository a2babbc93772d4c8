"""The AP ledger on SQLite and PostgreSQL: Decimal amounts, holds, bank change requests, idempotency."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from tools.bank_details import InvalidBankDetails, parse_bank_details
from tools.ledger import Ledger, build_ledger
from tools.ledger_models import BankChangeRequest, PaymentHold, Vendor
from tools.ledger_types import HoldNotAllowed, InvalidRequest, InvoiceNotFound, VendorNotFound


def test_invoice_status_has_exact_decimal_amount_and_schedule(readonly_ledger: Ledger) -> None:
    info = readonly_ledger.invoice_status("inv 10042")
    assert info.invoice_id == "INV-10042"
    assert info.amount == Decimal("3480.00") and isinstance(info.amount, Decimal)
    assert (info.vendor, info.status, info.due_date) == ("Acme Corp", "approved", date(2026, 12, 4))
    assert (info.payment_run_id, info.payment_date, info.scheduled) == ("PR-20261203", date(2026, 12, 3), True)
    assert info.hold is None
    big = readonly_ledger.invoice_status("INV-10077")
    assert big.amount == Decimal("48250.00") and big.amount > Decimal("10000")


def test_every_sample_amount_round_trips_exactly(readonly_ledger: Ledger, sample_data_dir: Path) -> None:
    import yaml

    raw = yaml.safe_load((sample_data_dir / "ledger.yaml").read_text())
    for invoice in raw["invoices"]:
        assert readonly_ledger.invoice_status(invoice["id"]).amount == Decimal(invoice["amount"])


def test_unknown_invoice_and_malformed_number(readonly_ledger: Ledger) -> None:
    with pytest.raises(InvoiceNotFound, match=r"^There is no invoice INV-99999 in the ledger\.$"):
        readonly_ledger.invoice_status("INV-99999")
    with pytest.raises(InvalidRequest, match="does not look like an invoice number"):
        readonly_ledger.invoice_status("the big one")


def test_vendor_payments_lists_open_invoices_and_next_run(readonly_ledger: Ledger) -> None:
    summary = readonly_ledger.vendor_payments("acme")
    assert summary.vendor == "Acme Corp" and summary.payment_terms == "Net 45"
    assert all(i.status in ("pending", "approved") for i in summary.open_invoices)
    assert "INV-10042" in [i.invoice_id for i in summary.open_invoices]
    assert summary.open_total == sum((i.amount for i in summary.open_invoices), Decimal("0"))
    assert summary.next_payment_date == date(2026, 12, 3)
    assert "INV-10042" in summary.next_payment_invoices
    assert summary.next_payment_amount == sum(
        (readonly_ledger.invoice_status(i).amount for i in summary.next_payment_invoices), Decimal("0")
    )


def test_a_hold_moves_the_next_payment_date(ledger: Ledger) -> None:
    before = ledger.vendor_payments("Wayne Facilities")
    assert before.next_payment_invoices
    for n, invoice_id in enumerate(before.next_payment_invoices):
        ledger.hold_payment(invoice_id, "audit", "carol.diaz@example.com", idempotency_key=f"w{n}")
    after = ledger.vendor_payments("Wayne Facilities")
    assert after.next_payment_date != before.next_payment_date
    assert not set(before.next_payment_invoices) & set(after.next_payment_invoices)


def test_vendor_resolution_by_alias_typo_and_unknown(readonly_ledger: Ledger) -> None:
    assert readonly_ledger.resolve_vendor("ACME corporation") == "Acme Corp"
    assert readonly_ledger.resolve_vendor("Hooli") == "Hooli Cloud"
    assert readonly_ledger.resolve_vendor("Umbrela Supplies") == "Umbrella Supplies"
    assert readonly_ledger.resolve_vendor("V-1005") == "Stark Logistics"
    assert readonly_ledger.resolve_vendor("Massive Dynamic") is None
    assert readonly_ledger.vendor_names()["Soylent"] == "Soylent Catering"
    with pytest.raises(VendorNotFound) as caught:
        readonly_ledger.vendor_payments("Initrode Widgets")
    assert caught.value.message.startswith("There is no vendor called 'Initrode Widgets' in the ledger.")


def test_hold_and_release_are_idempotent(ledger: Ledger) -> None:
    placed = ledger.hold_payment("INV-10077", "disputed scope", "hector.ruiz@example.com", idempotency_key="h-1")
    assert (placed.outcome, placed.replayed, placed.amount) == ("placed", False, Decimal("48250.00"))
    replay = ledger.hold_payment("INV-10077", "disputed scope", "hector.ruiz@example.com", idempotency_key="h-1")
    assert (replay.outcome, replay.replayed, replay.at) == ("placed", True, placed.at)
    other = ledger.hold_payment("INV-10077", "again", "dan.okafor@example.com", idempotency_key="h-2")
    assert other.outcome == "already_held" and other.by == "hector.ruiz@example.com"
    held = ledger.invoice_status("INV-10077").hold
    assert held is not None and held.reason == "disputed scope"

    released = ledger.release_hold("INV-10077", "carol.diaz@example.com", idempotency_key="r-1")
    assert (released.outcome, released.by) == ("released", "carol.diaz@example.com")
    assert ledger.release_hold("INV-10077", "carol.diaz@example.com", idempotency_key="r-1").replayed
    assert ledger.release_hold("INV-10077", "carol.diaz@example.com", idempotency_key="r-2").outcome == "not_held"
    assert ledger.invoice_status("INV-10077").hold is None
    # A replay of the first hold key after the release does not put the hold back.
    assert ledger.hold_payment("INV-10077", "x", "hector.ruiz@example.com", idempotency_key="h-1").replayed
    assert ledger.invoice_status("INV-10077").hold is None
    with ledger._sessions() as session:
        assert session.scalar(select(func.count()).select_from(PaymentHold)) == 1


def _race(n: int, action: Callable[[], str]) -> list[str]:
    """Run `action` in n threads released together; returns the outcomes (fails on any error)."""
    outcomes: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(n)

    def run() -> None:
        try:
            barrier.wait(timeout=30)
            outcomes.append(action())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    return sorted(outcomes)


def test_concurrent_holds_and_releases_with_one_key_act_once(ledger: Ledger) -> None:
    def hold() -> str:
        result = ledger.hold_payment("INV-10042", "dup check", "carol.diaz@example.com", idempotency_key="same")
        return "replayed" if result.replayed else result.outcome

    assert _race(6, hold) == ["placed"] + ["replayed"] * 5

    def release() -> str:
        result = ledger.release_hold("INV-10042", "dan.okafor@example.com", idempotency_key="same-release")
        return "replayed" if result.replayed else result.outcome

    assert _race(6, release) == ["released"] + ["replayed"] * 5
    with ledger._sessions() as session:
        assert session.scalar(select(func.count()).select_from(PaymentHold)) == 1
    assert ledger.invoice_status("INV-10042").hold is None


def test_concurrent_holds_with_different_keys_place_one_hold(ledger: Ledger) -> None:
    counter = iter(range(100))

    def hold() -> str:
        return ledger.hold_payment(
            "INV-10056", "check", "carol.diaz@example.com", idempotency_key=f"k{next(counter)}"
        ).outcome

    assert _race(5, hold) == ["already_held"] * 4 + ["placed"]


def test_holds_on_paid_or_rejected_invoices_are_refused(ledger: Ledger) -> None:
    with pytest.raises(HoldNotAllowed, match="INV-10001 was already paid in the payment run of 01 Oct 2026"):
        ledger.hold_payment("INV-10001", "late dispute", "hector.ruiz@example.com", idempotency_key="p")
    with pytest.raises(HoldNotAllowed, match="INV-10066 was rejected"):
        ledger.hold_payment("INV-10066", "dispute", "hector.ruiz@example.com", idempotency_key="q")


def test_bank_change_never_touches_the_live_account_and_masks_digits(ledger: Ledger) -> None:
    change = ledger.request_bank_change(
        "Acme",
        account_number="0001 2345 6789",
        routing_number="021000021",
        by="hector.ruiz@example.com",
        idempotency_key="bank-1",
    )
    assert change.id == "BCR-00001" and change.status == "pending_verification"
    assert (change.new_account, change.routing_hint, change.current_account) == ("••••6789", "••••0021", "••••4821")
    assert "123456789" not in repr(change) and "021000021" not in repr(change)
    replay = ledger.request_bank_change(
        "Acme",
        account_number="000123456789",
        routing_number="021000021",
        by="hector.ruiz@example.com",
        idempotency_key="bank-1",
    )
    assert replay.replayed and replay.id == change.id
    with ledger._sessions() as session:
        assert session.scalar(select(Vendor.bank_account_last4).where(Vendor.name == "Acme Corp")) == "4821"
        assert session.scalar(select(func.count()).select_from(BankChangeRequest)) == 1
        stored = " ".join(str(v) for v in session.execute(text("SELECT * FROM bank_change_requests")).one())
    assert "123456789" not in stored and "021000021" not in stored
    assert [v.bank_account for v in ledger.vendors() if v.name == "Acme Corp"] == ["••••4821"]

    iban = ledger.request_bank_change(
        "Globex",
        iban="GB82 WEST 1234 5698 7654 32",
        bic="NWBKGB2L",
        by="dan.okafor@example.com",
        idempotency_key="bank-2",
    )
    assert (iban.account_kind, iban.new_account, iban.routing_hint) == ("iban", "••••5432", "NWBK…")


@pytest.mark.parametrize(
    ("details", "message"),
    [
        ({"iban": "GB82 WEST 1234 5698 7654 33"}, "IBAN is not valid"),
        ({"account_number": "123456789", "routing_number": "021000022"}, "not a valid 9-digit ABA routing"),
        ({"account_number": "123456789"}, "needs the 9-digit ABA routing number"),
        ({"account_number": "12AB", "routing_number": "021000021"}, "4 to 17 digits"),
        ({"iban": "GB82WEST12345698765432", "bic": "NW!"}, "BIC/SWIFT code is not valid"),
        ({}, "either a bank account number"),
    ],
)
def test_bad_bank_details_are_refused_without_echoing_them(details: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidBankDetails) as caught:
        parse_bank_details(**details)
    assert message in str(caught.value)
    for value in details.values():
        assert value not in str(caught.value)


def test_bank_change_with_bad_details_records_nothing(ledger: Ledger) -> None:
    with pytest.raises(InvalidRequest, match="IBAN is not valid"):
        ledger.request_bank_change(
            "Initech", iban="GB82 WEST 1234 5698 7654 33", by="x@example.com", idempotency_key="bad"
        )
    with ledger._sessions() as session:
        assert session.scalar(select(func.count()).select_from(BankChangeRequest)) == 0


def test_build_ledger_twice_does_not_reseed(sqlite_url: str, sample_data_dir: Path) -> None:
    first = build_ledger(sqlite_url, sample_data_dir)
    first.hold_payment("INV-10042", "check", "carol.diaz@example.com", idempotency_key="keep")
    first.close()
    second = build_ledger(sqlite_url, sample_data_dir)
    try:
        assert second.invoice_status("INV-10042").hold is not None
        with second._sessions() as session:
            assert session.scalar(select(func.count()).select_from(Vendor)) == 8
    finally:
        second.close()
