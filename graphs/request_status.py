"""Answers questions about one's own earlier requests from the approvals store: read-only, never an action."""

from __future__ import annotations

import asyncio
from typing import Any

from langgraph.runtime import Runtime

from graphs import messages as msg
from graphs.context import AgentDeps
from graphs.eligibility import unreachable, unreachable_note
from graphs.governance.approval_records import when
from graphs.state import AgentState

SHOWN = 3
MATCHED_SLOTS = ("user", "group", "invoice_id", "vendor")


def _matching(mine: list[Any], slots: dict[str, str]) -> list[Any]:
    """The requests whose arguments name what the question names (a person, group, invoice, vendor)."""
    wanted = {str(slots[k]).strip().lower() for k in MATCHED_SLOTS if slots.get(k)}
    if not wanted:
        return []
    scored = []
    for approval in mine:
        values = {str(v).strip().lower() for v in approval.args.values() if isinstance(v, str)}
        values |= {str(v).strip().lower() for v in approval.facts.values() if isinstance(v, str)}
        score = len(wanted & values)
        if score:
            scored.append((score, approval))
    best = max((s for s, _ in scored), default=0)
    return [a for s, a in scored if s == best]


def describe(approval: Any) -> str:
    """One request's state in a sentence: who it waits on, who decided, when it expires."""
    head = f'"{approval.title}" ({approval.id})'
    approved = " and ".join(approval.approved_by) or "an approver"
    if approval.status == "pending":
        missing = approval.required - len(approval.approved_by)
        waiting = [a for a in approval.approvers if a not in approval.approved_by]
        text = (
            f"{head} is waiting for {missing} more approval{'s' if missing != 1 else ''} from "
            f"{', '.join(waiting) or 'no one'}; it expires {when(approval.expires_at)}."
        )
        return text + (unreachable_note(approval) if unreachable(approval) else "")
    if approval.status in ("approved", "executing"):
        return f"{head} was approved by {approved} and is being carried out."
    if approval.status == "executed":
        done = f" on {when(approval.executed_at)}" if approval.executed_at else ""
        return f"{head} was approved by {approved} and carried out{done}."
    if approval.status == "failed":
        return f"{head} was approved by {approved}, but carrying it out failed."
    if approval.status == "rejected":
        return f"{head} was rejected by {' and '.join(approval.rejected_by) or 'an approver'}; nothing was changed."
    if approval.status == "expired":
        return f"{head} expired on {when(approval.expires_at)} before it was approved; nothing was changed."
    return f"{head} was cancelled; nothing was changed."


async def request_status(state: AgentState, runtime: Runtime[AgentDeps]) -> dict[str, Any]:
    deps = runtime.context
    user = state.get("user")
    if not user:
        return {"reply": {"route": "handoff", "text": msg.UNKNOWN_REQUESTER}}
    mine = await asyncio.to_thread(deps.approvals.by_requester, user, 50)  # the requester's own, no one else's
    matched = _matching(mine, state.get("slots") or {})
    shown = (matched or [a for a in mine if a.status == "pending"] or mine)[:SHOWN]
    if not shown:
        text = msg.NO_REQUESTS
    elif not matched and state.get("slots", {}).keys() & set(MATCHED_SLOTS):
        text = msg.NO_MATCHING_REQUEST + " " + " ".join(describe(a) for a in shown)
    else:
        text = " ".join(describe(a) for a in shown)
    audit_id = await asyncio.to_thread(
        deps.audit.append,
        "answer",
        actor=user,
        request_id=state.get("request_id", ""),
        policy_version=deps.policy.version,
        payload={"intent": "request_status", "approvals": [a.id for a in shown]},
    )
    data = {"approvals": [{"approval_id": a.id, "status": a.status} for a in shown]}
    return {"reply": {"route": "answer", "text": text, "audit_id": audit_id, "data": data}}
