"""Reading ledger rows into the results the ledger returns (invoice info, hold results, change requests)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from tools.bank_details import mask
from tools.ledger_models import BankChangeRequest, Invoice, PaymentHold
from tools.ledger_types import ChangeRequest, HoldInfo, HoldResult, InvoiceInfo, InvoiceNotFound


def utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes: they were written in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def invoice_row(session: Session, invoice_id: str) -> Invoice:
    invoice = session.get(Invoice, invoice_id, options=[joinedload(Invoice.vendor), joinedload(Invoice.payment_run)])
    if invoice is None:
        raise InvoiceNotFound(f"There is no invoice {invoice_id} in the ledger.")
    return invoice


def active_hold(session: Session, invoice_id: str) -> PaymentHold | None:
    return session.scalar(
        select(PaymentHold).where(PaymentHold.invoice_id == invoice_id, PaymentHold.released_at.is_(None))
    )


def payment_date(invoice: Invoice) -> date | None:
    return invoice.payment_run.run_date if invoice.payment_run else None


def invoice_info(session: Session, invoice: Invoice) -> InvoiceInfo:
    hold = active_hold(session, invoice.id)
    run = invoice.payment_run
    return InvoiceInfo(
        invoice_id=invoice.id,
        vendor=invoice.vendor.name,
        vendor_id=invoice.vendor_id,
        amount=invoice.amount,
        currency=invoice.currency,
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        status=invoice.status,
        po_number=invoice.po_number,
        description=invoice.description,
        payment_run_id=run.id if run else None,
        payment_date=run.run_date if run else None,
        payment_run_status=run.status if run else None,
        hold=HoldInfo(hold.reason, hold.placed_by, utc(hold.placed_at)) if hold else None,
    )


def hold_result(invoice: Invoice, hold: PaymentHold, outcome: str, *, replayed: bool = False) -> HoldResult:
    released = outcome == "released"
    moment = hold.released_at if released else hold.placed_at
    return HoldResult(
        invoice_id=invoice.id,
        vendor=invoice.vendor.name,
        amount=invoice.amount,
        currency=invoice.currency,
        outcome=outcome,  # type: ignore[arg-type]
        reason=hold.reason,
        by=hold.released_by if released else hold.placed_by,
        at=utc(moment) if moment else None,
        payment_date=invoice.payment_run.run_date if invoice.payment_run else None,
        replayed=replayed,
    )


def change_result(request: BankChangeRequest, *, replayed: bool = False) -> ChangeRequest:
    return ChangeRequest(
        id=f"BCR-{request.id:05d}",
        vendor=request.vendor.name,
        vendor_id=request.vendor_id,
        account_kind=request.account_kind,
        new_account=mask(request.account_last4),
        routing_hint=request.routing_hint,
        current_account=mask(request.vendor.bank_account_last4),
        status=request.status,
        requested_by=request.requested_by,
        requested_at=utc(request.requested_at),
        replayed=replayed,
    )
