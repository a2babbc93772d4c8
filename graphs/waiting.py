""" "What's waiting for me?": the pending approvals this person may decide now, with their buttons.

Read-only: it lists and audits the answer, never decides, requests or runs anything. Whether someone may
decide is the store's own check (status, expiry, requester, eligible, not already approved) plus the
policy's approvers as the directory has them now (`Policy.eligible_now`), and not a request they joined.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from langgraph.runtime import Runtime

from channels.base import ApprovalView
from graphs import messages as msg
from graphs.context import AgentDeps
from graphs.eligibility import escalation_approvers
from graphs.governance.approval_joins import ApprovalJoins
from graphs.governance.approval_records import refusal, when
from graphs.state import AgentState

log = logging.getLogger(__name__)
INTENT = "waiting_for_me"
SHOWN = 10  # approval cards in one answer (each is its own message with buttons)
SCANNED = 500  # pending approvals looked at, oldest expiry first


async def _still_eligible(deps: AgentDeps, approval: Any, who: str) -> bool:
    """The policy's approvers now (a read: nothing is reassigned here); the stored list if that fails."""
    try:
        eligible, needed = await deps.policy.eligible_now(
            approval.tool,
            approval.args,
            requester=approval.requester,
            facts=approval.facts,
            directory=deps.approver_directory,
        )
        if needed and len([e for e in eligible if e != approval.requester]) < needed:  # escalated (as `recheck`)
            fallback = await escalation_approvers(deps.approver_directory, deps.escalation_group, approval.requester)
            eligible = [*eligible, *fallback]
    except Exception:
        log.warning("could not re-check the approvers of %s; using the stored list", approval.id, exc_info=True)
        return True
    return not needed or who in {e.strip().lower() for e in eligible}


async def decidable_by(deps: AgentDeps, who: str) -> list[Any]:
    """Pending approvals `who` may decide now, the soonest to expire first."""
    who = who.strip().lower()
    now = deps.clock()
    pending = await asyncio.to_thread(deps.approvals.list, "pending", SCANNED)
    candidates = [a for a in pending if a.expires_at > now and refusal(a, who, True) is None]
    joins = ApprovalJoins(deps.approvals)
    mine = []
    for approval in sorted(candidates, key=lambda a: a.expires_at):
        if await asyncio.to_thread(joins.refusal, approval.id, who):
            continue  # they asked for it too
        if await _still_eligible(deps, approval, who):
            mine.append(approval)
    return mine


def _line(approval: Any) -> str:
    needed = approval.required - len(approval.approved_by)
    more = f", {needed} more approval{'s' if needed != 1 else ''} needed" if approval.required > 1 else ""
    return f'• "{approval.title}" from {approval.requester} ({approval.id}, expires {when(approval.expires_at)}{more})'


async def waiting_for_me(state: AgentState, runtime: Runtime[AgentDeps]) -> dict[str, Any]:
    deps = runtime.context
    user = state.get("user")
    if not user:
        return {"reply": {"route": "handoff", "text": msg.UNKNOWN_REQUESTER}}
    mine = await decidable_by(deps, user)
    shown = mine[:SHOWN]
    if not shown:
        text = msg.NOTHING_WAITING
    else:
        head = msg.WAITING_HEAD.format(count=len(mine), s="s" if len(mine) != 1 else "")
        more = msg.WAITING_MORE.format(shown=len(shown)) if len(mine) > len(shown) else ""
        text = "\n".join([head, *map(_line, shown)]) + more
    audit_id = await asyncio.to_thread(
        deps.audit.append,
        "answer",
        actor=user,
        request_id=state.get("request_id", ""),
        policy_version=deps.policy.version,
        payload={"intent": INTENT, "approvals": [a.id for a in shown]},
    )
    data = {"approvals": [{"approval_id": a.id, "status": a.status} for a in shown]}
    # Other people's requests: private to the asker in shared conversations.
    reply = {"route": "answer", "text": text, "audit_id": audit_id, "data": data, "sensitive": bool(shown)}
    return {"reply": {**reply, "waiting": [a.id for a in shown]}}


async def waiting_views(agent: Any, ids: list[str] | None) -> tuple[ApprovalView, ...]:
    """The cards (with buttons) for the approvals a `waiting_for_me` answer lists, as channels show them."""
    views = []
    for approval_id in ids or ():
        approval = await asyncio.to_thread(agent.deps.approvals.get, approval_id)
        if approval is not None:
            views.append(agent.view(approval))
    return tuple(views)
