"""Accounts-payable tools (invoice status, vendor payments, holds, bank changes) over a `Ledger`, each
declared whole: schema, slots, title, side effects and the state it flips."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from tools.ledger_types import InvalidRequest, InvoiceInfo, format_money, normalise_invoice_id
from tools.tool_env import ToolEnv
from tools.tool_spec import ToolContext, ToolResult, ToolSpec, json_safe, tool, unless_already


def _invoice_id(value: str) -> str:
    try:
        return normalise_invoice_id(value)
    except InvalidRequest:
        raise ValueError("should be an invoice number such as INV-10042") from None


InvoiceId = Annotated[str, Field(min_length=3, max_length=40), AfterValidator(_invoice_id)]
VendorName = Annotated[str, Field(min_length=2, max_length=200)]


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class InvoiceArgs(_Args):
    invoice_id: InvoiceId = Field(description="The invoice number, e.g. 'INV-10042'.")


class VendorArgs(_Args):
    vendor: VendorName = Field(description="The vendor's name or a common alias, e.g. 'Acme Corp' or 'Acme'.")


class HoldPaymentArgs(_Args):
    invoice_id: InvoiceId = Field(description="The invoice to hold, e.g. 'INV-10077'.")
    reason: str = Field(
        min_length=3,
        max_length=500,
        description=("Why the payment is held, e.g. 'disputed quantity' or 'waiting for a credit note'."),
    )


class BankChangeArgs(_Args):
    vendor: VendorName = Field(description="The vendor whose bank details change, e.g. 'Acme Corp'.")
    account_number: str | None = Field(
        default=None,
        max_length=40,
        description=("The new US bank account number (4–17 digits). Give this with routing_number, or give iban."),
    )
    routing_number: str | None = Field(
        default=None, max_length=20, description="The 9-digit ABA routing number of the new account."
    )
    iban: str | None = Field(default=None, max_length=50, description="The new IBAN, instead of an account number.")
    bic: str | None = Field(default=None, max_length=20, description="The BIC/SWIFT code that goes with the IBAN.")

    @model_validator(mode="after")
    def _one_account(self) -> BankChangeArgs:
        if bool(self.account_number) == bool(self.iban):
            raise ValueError("give either account_number (with routing_number) or iban, not both")
        return self


def _when(info: InvoiceInfo) -> str:
    if info.status == "paid":
        return f"Paid in the payment run of {info.payment_date:%a %d %b %Y}." if info.payment_date else "Paid."
    if info.status == "rejected":
        return "Rejected: it will not be paid."
    if info.status == "pending":
        return "Awaiting approval, so it is not scheduled for payment yet."
    if info.scheduled and info.payment_date:
        return f"Scheduled for the payment run on {info.payment_date:%a %d %b %Y}."
    return "Approved; not yet scheduled in a payment run."


def _invoice_summary(info: InvoiceInfo) -> str:
    text = (
        f"{info.invoice_id} from {info.vendor}: {format_money(info.amount, info.currency)}, "
        f"due {info.due_date:%d %b %Y}, {info.status}. {_when(info)}"
    )
    if info.hold is not None:
        text += (
            f" On hold since {info.hold.placed_at:%d %b %Y} by {info.hold.placed_by} "
            f"({info.hold.reason}): it will not be paid until the hold is released."
        )
    return text


def ledger_tools(env: ToolEnv) -> list[ToolSpec]:
    """The accounts-payable tools, closed over the ledger (its sync methods run in a worker thread)."""
    ledger = env.ledger

    async def invoice_facts(args: Any) -> dict[str, Any]:
        info = await asyncio.to_thread(ledger.invoice_status, args.invoice_id)
        return {
            "invoice_id": info.invoice_id,
            "vendor": info.vendor,
            "amount": info.amount,
            "currency": info.currency,
            "status": info.status,
            "on_hold": info.hold is not None,
        }

    hold_facts = unless_already(  # nothing to change: said at once, never sent to approvers
        invoice_facts, "on_hold", True, lambda f: f"{f['invoice_id']} is already on hold."
    )
    release_facts = unless_already(
        invoice_facts,
        "on_hold",
        False,
        lambda f: f"{f['invoice_id']} has no payment hold, so there is nothing to release.",
    )

    async def invoice_status(args: InvoiceArgs, ctx: ToolContext) -> ToolResult:
        """Look up one invoice: amount, vendor, due date, approval state, the payment run it is
        scheduled in (or was paid in) and any payment hold. Read-only."""
        info = await asyncio.to_thread(ledger.invoice_status, args.invoice_id)
        return ToolResult(True, _invoice_summary(info), {"invoice": json_safe(info)})

    async def vendor_payments(args: VendorArgs, ctx: ToolContext) -> ToolResult:
        """List a vendor's open (pending or approved) invoices and when it will next be paid. Read-only."""
        summary = await asyncio.to_thread(ledger.vendor_payments, args.vendor)
        count = len(summary.open_invoices)
        text = (
            f"{summary.vendor} has {count} open invoice{'s' if count != 1 else ''} totalling "
            f"{format_money(summary.open_total, summary.currency)} ({summary.payment_terms})."
        )
        if summary.next_payment_date is not None:
            text += (
                f" Next payment: {summary.next_payment_date:%a %d %b %Y}, "
                f"{format_money(summary.next_payment_amount, summary.currency)} for "
                f"{', '.join(summary.next_payment_invoices)}."
            )
        else:
            text += " No payment is scheduled for them yet."
        return ToolResult(True, text, {"vendor": json_safe(summary)})

    async def hold_payment(args: HoldPaymentArgs, ctx: ToolContext) -> ToolResult:
        """Put a payment hold on an invoice so it is skipped in its payment run until the hold is
        released. Idempotent: holding an invoice that is already on hold changes nothing."""
        assert ctx.idempotency_key is not None
        result = await asyncio.to_thread(
            ledger.hold_payment, args.invoice_id, args.reason, ctx.requester, idempotency_key=ctx.idempotency_key
        )
        money = format_money(result.amount, result.currency)
        if result.outcome == "already_held":
            text = (
                f"{result.invoice_id} ({result.vendor}, {money}) is already on hold, placed by "
                f"{result.by} ({result.reason}). Nothing changed."
            )
        else:
            run = f" in the payment run of {result.payment_date:%d %b %Y}" if result.payment_date else ""
            text = (
                f"Put {result.invoice_id} ({result.vendor}, {money}) on hold: it will be skipped{run} "
                "until the hold is released."
            )
        return ToolResult(True, text, {"hold": json_safe(result)})

    async def release_hold(args: InvoiceArgs, ctx: ToolContext) -> ToolResult:
        """Release the payment hold on an invoice so it is paid in its payment run again.
        Idempotent: releasing an invoice without a hold changes nothing."""
        assert ctx.idempotency_key is not None
        result = await asyncio.to_thread(
            ledger.release_hold, args.invoice_id, ctx.requester, idempotency_key=ctx.idempotency_key
        )
        if result.outcome == "not_held":
            text = f"{result.invoice_id} has no payment hold, so there was nothing to release."
        else:
            run = f"; it will be paid in the run of {result.payment_date:%d %b %Y}" if result.payment_date else ""
            text = f"Released the hold on {result.invoice_id} ({result.vendor}){run}."
        return ToolResult(True, text, {"hold": json_safe(result)})

    async def bank_change_facts(args: BankChangeArgs) -> dict[str, Any]:
        vendor = await asyncio.to_thread(ledger.resolve_vendor, args.vendor)
        if vendor is None:
            await asyncio.to_thread(ledger.vendor_payments, args.vendor)  # raises VendorNotFound
        return {"vendor": vendor}

    async def vendor_bank_change(args: BankChangeArgs, ctx: ToolContext) -> ToolResult:
        """Request a change of a vendor's bank details. This only records a request pending call-back
        verification by the AP team; the live bank account is never changed directly, and only the
        last four digits are ever shown."""
        assert ctx.idempotency_key is not None
        change = await asyncio.to_thread(
            ledger.request_bank_change,
            args.vendor,
            account_number=args.account_number,
            routing_number=args.routing_number,
            iban=args.iban,
            bic=args.bic,
            by=ctx.requester,
            idempotency_key=ctx.idempotency_key,
        )
        routing = f" ({change.routing_hint})" if change.routing_hint else ""
        text = (
            f"Recorded bank-detail change request {change.id} for {change.vendor}: new account "
            f"{change.new_account}{routing}. Payments keep going to the current account "
            f"{change.current_account} until the AP team has verified the change by calling the "
            "vendor on the number already on file."
        )
        return ToolResult(True, text, {"change_request": json_safe(change)})

    return [
        tool(
            invoice_status,
            InvoiceArgs,
            read_only=True,
            sensitive=True,
            slots=("invoice_id",),
            entities=("invoice_id",),
            from_slots=_invoice_args,
            title=lambda a: f"Look up invoice {a.get('invoice_id')}",
        ),
        tool(
            vendor_payments,
            VendorArgs,
            read_only=True,
            sensitive=True,
            slots=("vendor",),
            entities=("vendor",),
            from_slots=lambda s: {"vendor": s.get("vendor")},
            title=lambda a: f"Look up payments to {a.get('vendor')}",
        ),
        tool(
            hold_payment,
            HoldPaymentArgs,
            read_only=False,
            sensitive=True,
            slots=("invoice_id",),
            entities=("invoice_id",),
            from_slots=lambda s: {"invoice_id": s.get("invoice_id"), "reason": s.get("reason") or "Requested in chat"},
            title=lambda a: f"Put invoice {a.get('invoice_id')} on payment hold",
            flips=("on_hold",),
            facts=hold_facts,
        ),
        tool(
            release_hold,
            InvoiceArgs,
            read_only=False,
            sensitive=True,
            slots=("invoice_id",),
            entities=("invoice_id",),
            from_slots=_invoice_args,
            title=lambda a: f"Release the payment hold on invoice {a.get('invoice_id')}",
            flips=("on_hold",),
            facts=release_facts,
        ),
        tool(
            vendor_bank_change,
            BankChangeArgs,
            read_only=False,
            sensitive=True,
            slots=("vendor",),
            entities=("vendor", "iban", "account_number"),
            from_slots=_bank_change_args,
            title=_bank_change_title,
            facts=bank_change_facts,
            masked=("account_number", "routing_number", "iban"),
        ),
    ]


def _invoice_args(s: Mapping[str, str]) -> dict[str, Any]:
    return {"invoice_id": s.get("invoice_id")}


def _bank_change_args(s: Mapping[str, str]) -> dict[str, Any]:
    keys = ("vendor", "account_number", "iban", "routing_number")
    return {k: s.get(k) for k in keys}


def _bank_change_title(a: Mapping[str, Any]) -> str:
    account = a.get("account_number") or a.get("iban")
    return f"Change the bank details of {a.get('vendor')}" + (
        f" to account ending {str(account)[-4:]}" if account else ""
    )
