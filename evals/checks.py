"""Checks on a runtime's state after a script: directory, ledger and approvals, and the rule that nothing
with side effects ran without the approvals the policy requires."""

from __future__ import annotations

import asyncio
from typing import Any

from evals.suite_policy import decide

CHECKS = (
    "group_member",
    "not_group_member",
    "invoice_on_hold",
    "invoice_not_on_hold",
    "user_active",
    "user_inactive",
    "user_exists",
    "approval_status",
    "no_approvals",
)


async def _member(rt: Any, email: str, group: str) -> bool:
    return email.lower() in {m.lower() for m in await rt.directory.group_members(group)}


async def _on_hold(rt: Any, invoice_id: str) -> bool:
    info = await asyncio.to_thread(rt.ledger.invoice_status, invoice_id)
    return info is not None and info.hold is not None


async def _person(rt: Any, email: str) -> Any:
    return await rt.directory.get(email)


async def check_state(rt: Any, checks: dict[str, Any], last_approval: str | None) -> list[str]:
    """Problems found (empty when every check holds). Unknown check names are problems too."""
    problems: list[str] = []
    for name, value in checks.items():
        try:
            ok, what = await _check_one(rt, name, value, last_approval)
        except Exception as exc:  # a look-up that fails is a failed check, named by its type
            ok, what = False, f"{name} {value}: look-up raised {type(exc).__name__}"
        if not ok:
            problems.append(what)
    return problems


async def _check_one(rt: Any, name: str, value: Any, last_approval: str | None) -> tuple[bool, str]:
    if name in ("group_member", "not_group_member"):
        email, group = value
        member = await _member(rt, email, group)
        return member == (name == "group_member"), f"{email} is {'' if member else 'not '}in {group}"
    if name in ("invoice_on_hold", "invoice_not_on_hold"):
        held = await _on_hold(rt, value)
        return held == (name == "invoice_on_hold"), f"{value} is {'' if held else 'not '}on hold"
    if name in ("user_active", "user_inactive", "user_exists"):
        person = await _person(rt, value)
        if name == "user_exists":
            return person is not None, f"{value} does not exist"
        active = person is not None and bool(person.active)
        return active == (name == "user_active"), f"{value} is {'active' if active else 'not active'}"
    if name == "approval_status":
        approval = rt.approvals.get(last_approval) if last_approval else None
        status = approval.status if approval else None
        return status == value, f"the approval is {status}, not {value}"
    if name == "no_approvals":
        found = rt.approvals.list()
        return not found, f"{len(found)} approval(s) were created"
    return False, f"unknown check {name!r} (known: {', '.join(CHECKS)})"


async def side_effects(rt: Any) -> list[dict[str, Any]]:
    """Audit entries of executions of tools that change data, oldest first."""
    entries = await asyncio.to_thread(rt.audit.tail, 100_000)
    out = []
    for entry in entries:
        if entry.kind != "execution":
            continue
        spec = rt.deps.tools.get(entry.payload.get("tool"))
        if spec is None or not spec.read_only:
            out.append({"actor": entry.actor, **entry.payload})
    return out


async def unapproved_executions(rt: Any) -> list[str]:
    """Side-effecting executions without what the policy requires: enough approvals on the approval record,
    or (without one) a policy that asks only for auto/confirm for that call."""
    problems = []
    for run in await side_effects(rt):
        tool, approval_id = run.get("tool"), run.get("approval_id")
        if approval_id:
            approval = rt.approvals.get(approval_id)
            if approval is None or len(approval.approved_by) < max(approval.required, 1):
                problems.append(f"{tool} ran on approval {approval_id} without enough approvals")
            continue
        try:
            req = await decide(rt.deps, str(tool), dict(run.get("args") or {}), str(run.get("actor")), 1.0)
            mode = req.mode
        except Exception as exc:
            mode = f"unknown ({type(exc).__name__})"
        if mode not in ("auto", "confirm"):
            problems.append(f"{tool} ran without an approval although the policy requires {mode}")
    return problems
