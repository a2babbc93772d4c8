"""From extracted slots to a tool's arguments, and how an action is described to people."""

from __future__ import annotations

from typing import Any


def slots_to_args(tool: str, slots: dict[str, str]) -> dict[str, Any]:
    """Map the router's slot names onto the tool's argument names (validated by the tool's schema)."""
    s = slots
    if tool == "create_user":
        parts = s.get("name", "").split()
        return {
            "given_name": parts[0] if parts else "",
            "family_name": " ".join(parts[1:]),
            "email": s.get("email"),
            "department": s.get("department"),
            "start_date": s.get("start_date"),
        }
    if tool == "find_user":
        return {"query": s.get("user") or s.get("name", "")}
    if tool in ("add_to_group", "remove_from_group"):
        return {"email": s.get("user"), "group": s.get("group")}
    if tool == "deactivate_user":
        return {"email": s.get("user")}
    if tool in ("invoice_status", "release_hold"):
        return {"invoice_id": s.get("invoice_id")}
    if tool == "hold_payment":
        return {"invoice_id": s.get("invoice_id"), "reason": s.get("reason") or "Requested in chat"}
    if tool == "vendor_payments":
        return {"vendor": s.get("vendor")}
    if tool == "vendor_bank_change":
        return {
            "vendor": s.get("vendor"),
            "account_number": s.get("account_number"),
            "iban": s.get("iban"),
            "routing_number": s.get("routing_number"),
        }
    return dict(s)


def title_for(tool: str, args: dict[str, Any]) -> str:
    """A one-line description of an action for confirmations and approval messages."""
    a = args
    titles = {
        "create_user": lambda: (
            f"Create accounts for {a.get('given_name', '')} {a.get('family_name', '')}"
            f" in {a.get('department', '?')}" + (f" starting {a['start_date']}" if a.get("start_date") else "")
        ),
        "add_to_group": lambda: f"Add {a.get('email')} to the {a.get('group')} group",
        "remove_from_group": lambda: f"Remove {a.get('email')} from the {a.get('group')} group",
        "deactivate_user": lambda: f"Deactivate the account of {a.get('email')}",
        "hold_payment": lambda: f"Put invoice {a.get('invoice_id')} on payment hold",
        "release_hold": lambda: f"Release the payment hold on invoice {a.get('invoice_id')}",
        "vendor_bank_change": lambda: (
            f"Change the bank details of {a.get('vendor')}"
            + (
                f" to account ending {str(a.get('account_number') or a.get('iban'))[-4:]}"
                if a.get("account_number") or a.get("iban")
                else ""
            )
        ),
        "find_user": lambda: f"Look up {a.get('query')}",
        "invoice_status": lambda: f"Look up invoice {a.get('invoice_id')}",
        "vendor_payments": lambda: f"Look up payments to {a.get('vendor')}",
    }
    return titles[tool]() if tool in titles else f"Run {tool}"
