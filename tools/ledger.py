"""The accounts-payable ledger: invoice status, vendor payments, payment holds and bank change requests.

Methods are synchronous (SQLAlchemy sessions); async callers use `asyncio.to_thread`. Every write takes
an idempotency key stored under a unique constraint, so a retry returns the first result instead of
acting twice, even when two retries race.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

from rapidfuzz import fuzz, process, utils
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, joinedload, sessionmaker

from tools.bank_details import InvalidBankDetails, mask, parse_bank_details
from tools.ledger_data import seed_ledger
from tools.ledger_models import BankChangeRequest, Invoice, PaymentHold, Vendor
from tools.ledger_rows import active_hold, change_result, hold_result, invoice_info, invoice_row, payment_date
from tools.ledger_types import (
    ChangeRequest,
    HoldNotAllowed,
    HoldResult,
    InvalidRequest,
    InvoiceInfo,
    InvoiceNotFound,
    VendorInfo,
    VendorNotFound,
    VendorSummary,
    normalise_invoice_id,
)
from tools.storage.db import build_engine, build_sessionmaker, migrate

log = logging.getLogger(__name__)
T = TypeVar("T")
VENDOR_CUTOFF = 80.0
OPEN_STATES = ("pending", "approved")


class Ledger:
    """The AP ledger over a SQLAlchemy sessionmaker (SQLite or PostgreSQL)."""

    def __init__(self, sessions: sessionmaker[Session], *, write_attempts: int = 5) -> None:
        self._sessions = sessions
        self._write_attempts = write_attempts
        self._vendor_cache: list[VendorInfo] | None = None

    def close(self) -> None:
        bind = self._sessions.kw.get("bind")
        if bind is not None:
            bind.dispose()

    # -- reads -----------------------------------------------------------------------------------

    def invoice_status(self, invoice_id: str) -> InvoiceInfo:
        """Amount, vendor, due date, approval state, payment run and hold of one invoice."""
        wanted = normalise_invoice_id(invoice_id)
        with self._sessions() as session:
            invoice = session.get(
                Invoice, wanted, options=[joinedload(Invoice.vendor), joinedload(Invoice.payment_run)]
            )
            if invoice is None:
                raise InvoiceNotFound(f"There is no invoice {wanted} in the ledger.")
            return invoice_info(session, invoice)

    def vendor_payments(self, vendor: str) -> VendorSummary:
        """A vendor's open invoices and the next payment run that will pay it."""
        name = self._require_vendor(vendor)
        with self._sessions() as session:
            row = session.scalar(select(Vendor).where(Vendor.name == name))
            assert row is not None
            invoices = session.scalars(
                select(Invoice)
                .where(Invoice.vendor_id == row.id, Invoice.status.in_(OPEN_STATES))
                .options(joinedload(Invoice.vendor), joinedload(Invoice.payment_run))
                .order_by(Invoice.due_date, Invoice.id)
            ).all()
            infos = tuple(invoice_info(session, i) for i in invoices)
        payable = [i for i in infos if i.scheduled and i.hold is None and i.payment_date is not None]
        next_date = min((i.payment_date for i in payable if i.payment_date), default=None)
        in_next = [i for i in payable if i.payment_date == next_date]
        currencies = {i.currency for i in infos}
        return VendorSummary(
            vendor=row.name,
            vendor_id=row.id,
            payment_terms=row.payment_terms,
            currency=currencies.pop() if len(currencies) == 1 else "USD",
            open_invoices=infos,
            open_total=sum((i.amount for i in infos), Decimal("0.00")),
            next_payment_date=next_date,
            next_payment_amount=sum((i.amount for i in in_next), Decimal("0.00")),
            next_payment_invoices=tuple(i.invoice_id for i in in_next),
        )

    def vendors(self) -> list[VendorInfo]:
        """Every vendor with its aliases (cached: Deskhand never edits vendors)."""
        if self._vendor_cache is None:
            with self._sessions() as session:
                rows = session.scalars(select(Vendor).order_by(Vendor.name)).all()
                self._vendor_cache = [
                    VendorInfo(
                        id=v.id,
                        name=v.name,
                        aliases=tuple(v.aliases or ()),
                        payment_terms=v.payment_terms,
                        bank_account=mask(v.bank_account_last4),
                        contact_name=v.contact_name,
                        contact_email=v.contact_email,
                    )
                    for v in rows
                ]
        return list(self._vendor_cache)

    def vendor_names(self) -> dict[str, str]:
        """Every name, alias and id a user may use for a vendor → the vendor's canonical name."""
        names: dict[str, str] = {}
        for vendor in self.vendors():
            for label in (vendor.name, vendor.id, *vendor.aliases):
                names[label] = vendor.name
        return names

    def resolve_vendor(self, text: str) -> str | None:
        """The canonical vendor name for `text` (exact name/alias/id, else a close fuzzy match)."""
        names = self.vendor_names()
        folded = {label.casefold(): name for label, name in names.items()}
        exact = folded.get(text.strip().casefold())
        if exact is not None:
            return exact
        best = process.extractOne(
            text, list(names), scorer=fuzz.WRatio, processor=utils.default_process, score_cutoff=VENDOR_CUTOFF
        )
        return names[best[0]] if best is not None else None

    # -- writes ----------------------------------------------------------------------------------

    def hold_payment(self, invoice_id: str, reason: str, by: str, *, idempotency_key: str) -> HoldResult:
        """Stop an invoice from being paid until released. Holding a held invoice changes nothing."""
        wanted = normalise_invoice_id(invoice_id)

        def once(session: Session) -> HoldResult:
            invoice = invoice_row(session, wanted)
            # Each read sees the latest commit, so look at the active hold first: a concurrent call with
            # this key that committed in between is then found by the key lookup below.
            active = active_hold(session, wanted)
            if active is not None:
                replayed = active.idempotency_key == idempotency_key
                return hold_result(invoice, active, "placed" if replayed else "already_held", replayed=replayed)
            replay = session.scalar(select(PaymentHold).where(PaymentHold.idempotency_key == idempotency_key))
            if replay is not None:  # placed with this key, released since: replaying changes nothing
                return hold_result(invoice, replay, "placed", replayed=True)
            if invoice.status == "paid":
                run = invoice.payment_run
                when = f" in the payment run of {run.run_date:%d %b %Y}" if run else ""
                raise HoldNotAllowed(
                    f"{wanted} was already paid{when}; a hold can no longer stop it. "
                    "Ask the AP team about recalling the payment."
                )
            if invoice.status == "rejected":
                raise HoldNotAllowed(f"{wanted} was rejected and will not be paid, so it needs no hold.")
            hold = PaymentHold(
                invoice_id=wanted,
                reason=reason.strip(),
                placed_by=by,
                placed_at=datetime.now(UTC),
                idempotency_key=idempotency_key,
            )
            session.add(hold)
            session.flush()  # a concurrent duplicate fails here (unique key / one active hold) and re-reads
            return hold_result(invoice, hold, "placed")

        return self._write(once)

    def release_hold(self, invoice_id: str, by: str, *, idempotency_key: str) -> HoldResult:
        """Lift the active hold so the invoice is paid in its run. Releasing twice changes nothing."""
        wanted = normalise_invoice_id(invoice_id)

        def once(session: Session) -> HoldResult:
            invoice = invoice_row(session, wanted)
            active = active_hold(session, wanted)
            if active is not None:
                # Conditional update: of two concurrent releases exactly one changes the row.
                released = session.execute(
                    update(PaymentHold)
                    .where(PaymentHold.id == active.id, PaymentHold.released_at.is_(None))
                    .values(released_by=by, released_at=datetime.now(UTC), release_key=idempotency_key)
                    .execution_options(synchronize_session=False)
                )
                if released.rowcount == 1:  # type: ignore[attr-defined]
                    session.refresh(active)
                    return hold_result(invoice, active, "released")
            replay = session.scalar(select(PaymentHold).where(PaymentHold.release_key == idempotency_key))
            if replay is not None:
                return hold_result(invoice, replay, "released", replayed=True)
            return HoldResult(
                wanted,
                invoice.vendor.name,
                invoice.amount,
                invoice.currency,
                "not_held",
                None,
                None,
                None,
                payment_date(invoice),
            )

        return self._write(once)

    def request_bank_change(
        self,
        vendor: str,
        *,
        account_number: str | None = None,
        routing_number: str | None = None,
        iban: str | None = None,
        bic: str | None = None,
        by: str,
        idempotency_key: str,
    ) -> ChangeRequest:
        """Record a change request pending call-back verification. The live account is never touched
        and only the last four digits are kept."""
        try:
            details = parse_bank_details(account_number, routing_number, iban, bic)
        except InvalidBankDetails as exc:
            raise InvalidRequest(str(exc)) from None
        name = self._require_vendor(vendor)

        def once(session: Session) -> ChangeRequest:
            replay = session.scalar(
                select(BankChangeRequest).where(BankChangeRequest.idempotency_key == idempotency_key)
            )
            if replay is not None:
                return change_result(replay, replayed=True)
            row = session.scalar(select(Vendor).where(Vendor.name == name))
            assert row is not None
            request = BankChangeRequest(
                vendor_id=row.id,
                vendor=row,
                account_kind=details.kind,
                account_last4=details.last4,
                routing_hint=details.routing_hint,
                status="pending_verification",
                requested_by=by,
                requested_at=datetime.now(UTC),
                idempotency_key=idempotency_key,
            )
            session.add(request)
            session.flush()
            return change_result(request)

        return self._write(once)

    # -- internals -------------------------------------------------------------------------------

    def _write(self, once: Callable[[Session], T]) -> T:
        """Run `once` in its own transaction. A unique-key race re-reads (the winner's result is
        returned); SQLite's 'database is locked' on a read→write upgrade is retried briefly."""
        for attempt in range(1, self._write_attempts + 1):
            try:
                with self._sessions.begin() as session:
                    return once(session)
            except IntegrityError:
                if attempt == self._write_attempts:
                    raise
            except OperationalError as exc:
                if "locked" not in str(exc.orig).lower() or attempt == self._write_attempts:
                    raise
                time.sleep(0.02 * attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _require_vendor(self, text: str) -> str:
        name = self.resolve_vendor(text)
        if name is not None:
            return name
        close = process.extract(
            text,
            [v.name for v in self.vendors()],
            scorer=fuzz.WRatio,
            processor=utils.default_process,
            limit=3,
            score_cutoff=60,
        )
        suggestions = tuple(c[0] for c in close)
        hint = f" Did you mean {' or '.join(suggestions)}?" if suggestions else ""
        raise VendorNotFound(f"There is no vendor called {text!r} in the ledger.{hint}", suggestions)


def build_ledger(database_url: str, sample_data: Path) -> Ledger:
    """Migrate the database at `database_url`, seed it from `sample_data`/ledger.yaml when empty."""
    engine = build_engine(database_url)
    migrate(engine)
    sessions = build_sessionmaker(engine)
    try:
        with sessions.begin() as session:
            added = seed_ledger(session, sample_data / "ledger.yaml")
        if added:
            log.info("seeded the AP ledger with %d invoices", added)
    except IntegrityError:
        log.info("another process seeded the AP ledger first")
    return Ledger(sessions)
