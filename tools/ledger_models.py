"""SQLAlchemy tables of the accounts-payable ledger (schema owned by migration 0001_ledger)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator, TypeEngine

from tools.storage.db import Base

CENT = Decimal("0.01")
INVOICE_STATES = ("pending", "approved", "rejected", "paid")
RUN_STATES = ("scheduled", "completed")


class Money(TypeDecorator[Decimal]):
    """NUMERIC(14, 2) that always reads back as a Decimal with two places, SQLite included.

    SQLite has no decimal type and hands back floats; two-decimal amounts of up to 13 digits survive
    the round trip exactly through `str()`, so the value is rebuilt from its text, never used as float.
    """

    impl = Numeric(14, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Numeric(14, 2, asdecimal=False))
        return dialect.type_descriptor(Numeric(14, 2))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        amount = Decimal(value).quantize(CENT)
        return str(amount) if dialect.name == "sqlite" else amount

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(str(value)).quantize(CENT)


class Vendor(Base):
    __tablename__ = "vendors"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    payment_terms: Mapped[str] = mapped_column(String(40))
    bank_account_last4: Mapped[str] = mapped_column(String(4))  # the live account: last 4 digits only
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(320))
    contact_phone: Mapped[str | None] = mapped_column(String(40))

    invoices: Mapped[list[Invoice]] = relationship(back_populates="vendor")


class PaymentRun(Base):
    __tablename__ = "payment_runs"
    __table_args__ = (CheckConstraint("status IN ('scheduled', 'completed')", name="ck_payment_runs_status"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    run_date: Mapped[date] = mapped_column(Date, unique=True)
    status: Mapped[str] = mapped_column(String(16))


class Invoice(Base):
    __tablename__ = "invoices"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'approved', 'rejected', 'paid')", name="ck_invoices_status"),
        Index("ix_invoices_vendor_id", "vendor_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    vendor_id: Mapped[str] = mapped_column(ForeignKey("vendors.id"))
    amount: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(String(3))
    issue_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    po_number: Mapped[str | None] = mapped_column(String(40))
    description: Mapped[str | None] = mapped_column(String(300))
    payment_run_id: Mapped[str | None] = mapped_column(ForeignKey("payment_runs.id"))

    vendor: Mapped[Vendor] = relationship(back_populates="invoices")
    payment_run: Mapped[PaymentRun | None] = relationship()


class PaymentHold(Base):
    """A hold stops an invoice from being paid in its run until released. At most one is active."""

    __tablename__ = "payment_holds"
    __table_args__ = (
        Index(
            "uq_payment_holds_active",
            "invoice_id",
            unique=True,
            sqlite_where=text("released_at IS NULL"),
            postgresql_where=text("released_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"))
    reason: Mapped[str] = mapped_column(Text)
    placed_by: Mapped[str] = mapped_column(String(320))
    placed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    released_by: Mapped[str | None] = mapped_column(String(320))
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    release_key: Mapped[str | None] = mapped_column(String(200), unique=True)


class BankChangeRequest(Base):
    """A requested change of a vendor's bank details, pending call-back verification.

    Only the last four digits are stored: the AP team confirms the full details with the vendor on the
    phone number already on file and keys them into the payment system; Deskhand never changes the
    live account (`vendors.bank_account_last4`).
    """

    __tablename__ = "bank_change_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    vendor_id: Mapped[str] = mapped_column(ForeignKey("vendors.id"))
    account_kind: Mapped[str] = mapped_column(String(8))  # "account" (+ routing) or "iban" (+ BIC)
    account_last4: Mapped[str] = mapped_column(String(4))
    routing_hint: Mapped[str | None] = mapped_column(String(20))  # masked routing number or BIC
    status: Mapped[str] = mapped_column(String(32), default="pending_verification")
    requested_by: Mapped[str] = mapped_column(String(320))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)

    vendor: Mapped[Vendor] = relationship()
