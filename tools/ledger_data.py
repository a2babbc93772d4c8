"""The sample ledger file (`ledger.yaml`): vendors, invoices and payment runs, and seeding a database."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tools.data_files import EMAIL_PATTERN, load_yaml_model
from tools.ledger_models import CENT, Invoice, PaymentRun, Vendor


def _amount(value: Any) -> Decimal:
    # Floats are refused: a YAML float has already lost the exact cents before we see it.
    if isinstance(value, float | bool):
        raise ValueError("write amounts as quoted strings, e.g. '1234.50'")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ValueError("not a decimal amount") from None
    if amount <= 0 or amount != amount.quantize(CENT):
        raise ValueError("must be positive with at most two decimal places")
    return amount.quantize(CENT)


Amount = Annotated[Decimal, BeforeValidator(_amount)]
Last4 = Annotated[str, Field(pattern=r"^\d{4}$")]


class Contact(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = None
    email: Annotated[str, Field(pattern=EMAIL_PATTERN)] | None = None
    phone: str | None = None


class VendorRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[A-Za-z0-9._-]{1,32}$")
    name: str = Field(min_length=1, max_length=200)
    aliases: tuple[str, ...] = ()
    payment_terms: str = Field(min_length=1, max_length=40)
    bank_account_last4: Last4
    contact: Contact = Contact()


class InvoiceRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^INV-\d{3,12}$")
    vendor: str  # vendor name or id
    amount: Amount
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    issue_date: date
    due_date: date
    status: Literal["pending", "approved", "rejected", "paid"]
    po_number: str | None = None
    description: str | None = None


class PaymentRunRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[A-Za-z0-9._-]{1,32}$")
    date: date
    status: Literal["scheduled", "completed"]
    invoices: tuple[str, ...] = ()


class LedgerData(BaseModel):
    """The whole file, checked for consistency (references, and which invoices a run may hold)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    vendors: tuple[VendorRecord, ...] = ()
    invoices: tuple[InvoiceRecord, ...] = ()
    payment_runs: tuple[PaymentRunRecord, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> LedgerData:
        vendor_keys: set[str] = set()
        for vendor in self.vendors:
            for key in (vendor.id, vendor.name):
                if key in vendor_keys:
                    raise ValueError(f"vendors: {key} is listed twice")
                vendor_keys.add(key)
        invoices = {i.id: i for i in self.invoices}
        if len(invoices) != len(self.invoices):
            raise ValueError("invoices: duplicate invoice id")
        for invoice in self.invoices:
            if invoice.vendor not in vendor_keys:
                raise ValueError(f"invoices: {invoice.id} names unknown vendor {invoice.vendor}")
            if invoice.due_date < invoice.issue_date:
                raise ValueError(f"invoices: {invoice.id} is due before it was issued")
        scheduled: set[str] = set()
        for run in self.payment_runs:
            wanted = "approved" if run.status == "scheduled" else "paid"
            for invoice_id in run.invoices:
                if invoice_id not in invoices:
                    raise ValueError(f"payment_runs: {run.id} lists unknown invoice {invoice_id}")
                if invoice_id in scheduled:
                    raise ValueError(f"payment_runs: {invoice_id} is in more than one run")
                if invoices[invoice_id].status != wanted:
                    raise ValueError(
                        f"payment_runs: a {run.status} run may only hold {wanted} invoices "
                        f"({invoice_id} is {invoices[invoice_id].status})"
                    )
                scheduled.add(invoice_id)
        return self


def load_ledger_data(path: Path) -> LedgerData:
    """Read and validate a `ledger.yaml` file (raises `SampleDataError`)."""
    return load_yaml_model(path, LedgerData)


def seed_ledger(session: Session, ledger_yaml: Path) -> int:
    """Load the sample ledger into an empty database; returns the number of invoices added (0 when
    the ledger already holds vendors). The caller commits."""
    if session.scalar(select(func.count()).select_from(Vendor)):
        return 0
    data = load_ledger_data(ledger_yaml)
    vendor_ids: dict[str, str] = {}
    for v in data.vendors:
        session.add(
            Vendor(
                id=v.id,
                name=v.name,
                aliases=list(v.aliases),
                payment_terms=v.payment_terms,
                bank_account_last4=v.bank_account_last4,
                contact_name=v.contact.name,
                contact_email=v.contact.email,
                contact_phone=v.contact.phone,
            )
        )
        vendor_ids[v.id] = vendor_ids[v.name] = v.id
    run_of: dict[str, str] = {}
    for run in data.payment_runs:
        session.add(PaymentRun(id=run.id, run_date=run.date, status=run.status))
        run_of.update({invoice_id: run.id for invoice_id in run.invoices})
    session.flush()
    for i in data.invoices:
        session.add(
            Invoice(
                id=i.id,
                vendor_id=vendor_ids[i.vendor],
                amount=i.amount,
                currency=i.currency,
                issue_date=i.issue_date,
                due_date=i.due_date,
                status=i.status,
                po_number=i.po_number,
                description=i.description,
                payment_run_id=run_of.get(i.id),
            )
        )
    session.flush()
    return len(data.invoices)
