"""Who may decide on a pending approval, re-checked when someone decides: deactivated people drop out."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from graphs import messages as msg
from graphs.governance.approval_joins import ApprovalJoins
from graphs.governance.approval_records import Approval, refusal, when

if TYPE_CHECKING:  # `approvals show` notes an unreachable quorum without the agent's interfaces (policy models)
    from graphs.context import Directory, GovernanceDeps


@dataclass(frozen=True)
class Recheck:
    refusal: str | None  # why this person may not decide now, or None
    approval: Approval  # re-read when its approvers changed
    changed: bool  # the approvers were replaced


def unreachable(approval: Approval) -> bool:
    """A pending request that too few eligible people are left to approve."""
    missing = approval.required - len(approval.approved_by)
    left = [a for a in approval.approvers if a not in approval.approved_by]
    return approval.status == "pending" and len(left) < missing


async def escalation_approvers(directory: Directory, group: str | None, requester: str) -> list[str]:
    """The fallback group's active members, never the requester: they become eligible approvers of a
    request whose own approvers can no longer reach its quorum (the worker's escalation tells them)."""
    if not group:
        return []
    members = list(dict.fromkeys(m.strip().lower() for m in await directory.group_members(group)))
    gone = await directory.inactive(members) if members else set()
    return [m for m in members if m != requester and m not in gone]


def unreachable_note(approval: Approval) -> str:
    return msg.UNREACHABLE.format(required=approval.required, eligible=", ".join(approval.approvers) or "no one")


async def recheck(deps: GovernanceDeps, approval: Approval, decider: str) -> Recheck:
    """Re-resolve the approvers from the policy with the directory as it is now (active accounts only), store
    the new list when it changed, and say why `decider` may not decide (inactive, or requester inactive)."""
    if approval.status != "pending" or deps.clock() >= approval.expires_at:
        return Recheck(None, approval, False)  # closed or overdue: the store's own answer applies
    directory = deps.approver_directory
    who = decider.strip().lower()
    gone = await directory.inactive([who, approval.requester])
    if who in gone:
        return Recheck(msg.INACTIVE_APPROVER, approval, False)
    eligible, needed = await deps.policy.eligible_now(
        approval.tool, approval.args, requester=approval.requester, facts=approval.facts, directory=directory
    )
    if needed and len([e for e in eligible if e != approval.requester]) < needed:  # escalated: the fallback too
        fallback = await escalation_approvers(directory, deps.escalation_group, approval.requester)
        eligible = list(dict.fromkeys([*eligible, *fallback]))
    changed = False
    # needed == 0: the policy no longer asks for approvers at all (edited since); keep the stored ones.
    if needed and list(approval.approvers) != [e for e in eligible if e != approval.requester]:
        changed = await asyncio.to_thread(deps.approvals.reassign, approval, eligible)
        latest = await asyncio.to_thread(deps.approvals.get, approval.id)
        approval = latest or approval  # records are never deleted
    refusal = None
    if approval.requester in gone:
        refusal = msg.REQUESTER_INACTIVE
    return Recheck(refusal, approval, changed)


async def form_refusal(
    deps: GovernanceDeps, approval_id: str, who: str, approve: bool
) -> tuple[str | None, Approval | None]:
    """Before a reason form opens (a Reject or Approve-with-comment click): why `who` may not decide on
    `approval_id` now (not an approver, the requester or someone who joined the request, already decided
    by them, closed, overdue), with the approval as it stands; (None, approval) when they may. Changes
    nothing but the refusal's audit entry: the decision itself is judged again when the form is submitted
    (state may change in between)."""
    approval = await asyncio.to_thread(deps.approvals.get, approval_id)
    if approval is None:
        return f"There is no approval request {approval_id}.", None
    who = who.strip().lower()
    if approval.status == "pending" and deps.clock() >= approval.expires_at:
        approval = replace(approval, status="expired")  # the sweep records it; to this person it is over
        reason: str | None = f"This request expired at {when(approval.expires_at)}."
    else:
        reason = refusal(approval, who, approve)
    if reason is None and approval.status == "pending":
        reason = await asyncio.to_thread(ApprovalJoins(deps.approvals).refusal, approval_id, who)
    if reason is not None:  # an attempt refused before any form: audited like a refused decision
        payload = {"approval_id": approval_id, "approve": approve, "accepted": False, "message": reason}
        await asyncio.to_thread(
            deps.audit.append,
            "approval_decision",
            actor=who,
            request_id=approval_id,
            policy_version=deps.policy.version,
            payload={**payload, "stage": "form"},
        )
    return reason, approval
