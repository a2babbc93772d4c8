"""Recovery after a crash: re-drive approved actions nobody ran and executions whose process died."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from channels.base import Reply
from graphs import messages as msg
from graphs.agent import Agent
from graphs.approved_run import execute_approved
from graphs.governance.approval_records import Approval, AuditNote
from graphs.state import Action, AgentState

log = logging.getLogger(__name__)

# A live process resumes an approval within milliseconds of the decision; only older ones are orphans.
DEFAULT_GRACE = timedelta(seconds=30)
# Longer than any tool call with its retries (SCIM: 3 × 5 s time-outs plus back-off).
DEFAULT_LEASE = timedelta(seconds=90)
MAX_ATTEMPTS = 3
GAVE_UP = "it could not be completed after several attempts"
CHANGED = "the facts it was approved for have changed"


@dataclass
class RecoveryReport:
    """What one recovery pass did, by approval id."""

    executed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # ran, and the tool reported a failure
    abandoned: list[str] = field(default_factory=list)  # could not run any more: marked failed, requester told
    errors: list[str] = field(default_factory=list)  # raised; retried on a later pass

    @property
    def touched(self) -> int:
        return len(self.executed) + len(self.failed) + len(self.abandoned) + len(self.errors)


async def recover_approvals(
    agent: Agent,
    now: datetime | None = None,
    *,
    grace: timedelta = DEFAULT_GRACE,
    lease: timedelta = DEFAULT_LEASE,
) -> RecoveryReport:
    """One pass: every `approved` request older than `grace` and every `executing` one claimed more than
    `lease` ago runs through the same execute path as a live decision, under the approval's idempotency
    key, then its requester is told and its messages refreshed. Safe to run from several processes at
    once (the claim is a compare-and-set) and as often as wanted (the `agent` whose dependencies run it)."""
    deps = agent.deps
    moment = now or deps.clock()
    due = await asyncio.to_thread(
        deps.approvals.due_for_recovery, decided_before=moment - grace, claimed_before=moment - lease
    )
    report = RecoveryReport()
    for approval in due:
        try:
            await _recover_one(agent, approval, moment - lease, report)
        except Exception:
            log.exception("recovering approval %s failed; will retry", approval.id)
            report.errors.append(approval.id)
    if report.touched:
        log.info(
            "approval recovery: %d executed, %d failed, %d abandoned, %d errors",
            len(report.executed),
            len(report.failed),
            len(report.abandoned),
            len(report.errors),
        )
    return report


async def _recover_one(agent: Agent, approval: Approval, stale_before: datetime, report: RecoveryReport) -> None:
    deps = agent.deps
    note = AuditNote(actor="system", request_id=approval.id, policy_version=deps.policy.version)
    if approval.status == "executing" and approval.attempts >= MAX_ATTEMPTS:
        await _abandon(agent, approval, GAVE_UP, note, report)
        return
    action: Action = {"tool": approval.tool, "args": approval.args}
    state: AgentState = {
        "user": approval.requester,
        "request_id": approval.id,
        "mode": "approval",
        "approval_id": approval.id,
    }
    outcome = await execute_approved(deps, approval.id, action, state, stale_before=stale_before)
    if outcome is None:
        latest = await asyncio.to_thread(deps.approvals.get, approval.id)
        if latest is not None and latest.status in ("approved", "executing") and latest.version == approval.version:
            await _abandon(agent, approval, CHANGED, note, report)  # nobody else took it: the digest differs
        return
    result, audit_id = outcome
    (report.executed if result.ok else report.failed).append(approval.id)
    who = " and ".join(approval.approved_by) or "an approver"
    spec = deps.tools[approval.tool]
    reply = Reply(
        text=f"Approved by {who}. {result.summary}".strip(),
        route="tool",
        tool=approval.tool,
        sensitive=bool(spec.sensitive),
        audit_id=audit_id,
        data=result.data or {},
    )
    latest = await asyncio.to_thread(deps.approvals.get, approval.id)
    await agent.publish(latest or approval, reply)


async def _abandon(agent: Agent, approval: Approval, reason: str, note: AuditNote, report: RecoveryReport) -> None:
    deps = agent.deps
    if not await asyncio.to_thread(deps.approvals.abandon, approval.id, reason, None, note):
        return
    report.abandoned.append(approval.id)
    text = msg.APPROVAL_ABANDONED.format(title=approval.title, reason=reason)
    latest = await asyncio.to_thread(deps.approvals.get, approval.id)
    await agent.publish(latest or approval, Reply(text=text, route="approval"))
