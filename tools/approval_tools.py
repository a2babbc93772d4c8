"""Who approves accounts-payable actions for a vendor: the risk policy and the directory, read, never used."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from tools.ledger_tools import VendorName, ledger_tools
from tools.ledger_types import format_money
from tools.tool_env import Ruling, ToolEnv
from tools.tool_spec import ToolContext, ToolResult, ToolSpec, tool


class VendorApproversArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    vendor: VendorName = Field(description="The vendor's name or a common alias, e.g. 'Acme Corp' or 'Acme'.")
    amount: Decimal | None = Field(
        default=None,
        gt=0,
        max_digits=14,  # no big bound in the schema: digit runs in it are masked before an LLM sees it
        decimal_places=2,
        description="The invoice amount to ask about, e.g. '12500.00'. Leave empty to use the vendor's "
        "largest open invoice.",
    )


def _who(emails: tuple[str, ...], names: Mapping[str, str], last: str) -> str:
    shown = [names.get(e, e) for e in emails]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + f" {last} " + shown[-1]


def _line(action: str, ruling: Ruling, names: Mapping[str, str]) -> str:
    if ruling.mode == "auto":
        needs = "runs without approval"
    elif ruling.mode == "confirm":
        needs = "the requester confirms it"
    elif ruling.mode == "deny":
        needs = "can't go ahead"
    else:
        if ruling.required == 1:
            needs = f"one approval, from {_who(ruling.approvers, names, 'or')}"
        else:
            count = {2: "two"}.get(ruling.required, str(ruling.required))
            needs = f"{count} approvals from different people among {_who(ruling.approvers, names, 'and')}"
    return f"• {action}: {needs}. {ruling.reason}"


def approval_tools(env: ToolEnv) -> list[ToolSpec]:
    """The look-up of who approves a vendor's AP actions, closed over the ledger, directory and policy."""
    ledger, directory = env.ledger, env.directory
    actions = [spec.name for spec in ledger_tools(env) if spec.side_effects]

    async def vendor_approvers(args: VendorApproversArgs, ctx: ToolContext) -> ToolResult:
        """Say who would have to approve accounts-payable actions for a vendor (payment holds, hold
        releases, bank-detail changes), for a given invoice amount or the vendor's largest open invoice,
        according to the risk policy and the directory as it is now. Read-only: nothing is requested."""
        summary = await asyncio.to_thread(ledger.vendor_payments, args.vendor)
        amount = args.amount
        basis = "the amount asked about"
        if amount is None and summary.open_invoices:
            amount = max(i.amount for i in summary.open_invoices)
            basis = "its largest open invoice"
        facts = {"vendor": summary.vendor, "amount": amount, "currency": summary.currency}
        names = {p.email: p.display_name for p in await directory.known_people()}
        rulings = {
            action: await env.rules.decide(
                action,
                {"vendor": summary.vendor},
                requester=ctx.requester,
                confidence=1.0,
                facts=facts,
                directory=directory,
            )
            for action in actions
        }
        considered = (
            f"{format_money(amount, summary.currency)}, {basis}"
            if amount is not None
            else "no amount given and no open invoice, so the rules for large amounts apply"
        )
        lines = [_line(action.replace("_", " "), r, names) for action, r in rulings.items()]
        text = f"Who approves AP actions for {summary.vendor} ({considered}), if you asked:\n" + "\n".join(lines)
        data = {
            "vendor": summary.vendor,
            "amount": None if amount is None else str(amount),
            "actions": {
                a: {"mode": r.mode, "approvers": list(r.approvers), "required": r.required} for a, r in rulings.items()
            },
        }
        return ToolResult(True, text, data)

    return [
        tool(
            vendor_approvers,
            VendorApproversArgs,
            read_only=True,
            sensitive=True,
            slots=("vendor",),
            entities=("vendor",),
            from_slots=lambda s: {"vendor": s.get("vendor"), "amount": s.get("amount")},
            title=lambda a: f"Look up who approves AP actions for {a.get('vendor')}",
        )
    ]
