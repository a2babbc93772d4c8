"""Deciding on an approval: who may decide (judged now), the decision with its audit entry, and what
follows (the action runs once when the decision completes the approval; the requester and every message
showing the approval are told). One code path for the agent (channels, terminal chat) and for
`deskhand approvals decide`, which builds only `GovernanceDeps` (no model, no router, no LangGraph).

How an approval's run is closed is the caller's: the agent resumes the approval's paused graph thread
(whose execute step runs `graphs.approved_run.run_approved`); the CLI calls `run_approved` directly, as
crash recovery does. Either way the claim is a compare-and-set and the tool runs under `approval:<id>`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from channels.base import ApprovalView, DecisionOutcome, MessageRef, Reply
from graphs import messages as msg
from graphs.approval_notes import decision_note, joiner_refusal, notify_waiters
from graphs.approved_run import run_approved
from graphs.context import AuditTrail, Directory, GovernanceDeps
from graphs.eligibility import recheck, unreachable, unreachable_note
from graphs.fanout import Fanout, NoFanout
from graphs.governance.approval_records import Approval, ApprovalError
from graphs.governance.approvals import ApprovalStore
from graphs.governance.policy import Policy
from graphs.state import AgentState
from tools.tool_spec import ToolSpec
from tools.tracing import annotate, span

log = logging.getLogger(__name__)

# Closes an approval's run with its final status ("approved", "rejected", "expired"); returns the run's
# reply data (for "approved": what the action did, see graphs.approved_run.tool_reply).
Closer = Callable[[Approval, str], Awaitable[dict[str, Any]]]


@dataclass
class Governance:
    """`GovernanceDeps` on their own: what deciding needs when no agent is built."""

    tools: Mapping[str, ToolSpec]
    policy: Policy
    approver_directory: Directory
    approvals: ApprovalStore
    audit: AuditTrail
    escalation_group: str | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    fault: Callable[[str, str], Awaitable[None]] | None = None


def run_directly(running: Callable[[], GovernanceDeps]) -> Closer:
    """A closer without the graph: an approved action runs at once (claim, tool, finish) over the parts
    `running()` gives (the tools' clients are opened only then), as recovery runs it; a rejection or expiry
    has nothing to run. The audit entries carry the approval id as request id."""

    async def close(approval: Approval, status: str) -> dict[str, Any]:
        if status != "approved":
            return {}
        deps = running()
        state: AgentState = {
            "user": approval.requester,
            "request_id": approval.id,
            "mode": "approval",
            "approval_id": approval.id,
        }
        return await run_approved(deps, approval.id, {"tool": approval.tool, "args": approval.args}, state)

    return close


class Decisions:
    """Approvers' decisions, expiries and the notices that follow them."""

    def __init__(self, deps: GovernanceDeps, close: Closer, fanout: Fanout | None = None) -> None:
        self.deps = deps
        self.close = close
        self.fanout: Fanout = fanout or NoFanout()

    async def decide(
        self, approval_id: str, approver_email: str | None, approve: bool, comment: str = ""
    ) -> DecisionOutcome:
        with span("approval decide", approval_id=approval_id, approve=approve):
            outcome = await self._decide(approval_id, approver_email, approve, comment)
            annotate(accepted=outcome.accepted)
            return outcome

    async def _decide(
        self, approval_id: str, approver_email: str | None, approve: bool, comment: str
    ) -> DecisionOutcome:
        if not approver_email:
            return DecisionOutcome(accepted=False, message=msg.UNKNOWN_REQUESTER)
        joiner = await joiner_refusal(self.deps.approvals, approval_id, approver_email)
        refused = await self._recheck(approval_id, approver_email, approve, joiner)
        if refused is not None:
            return refused
        now = self.deps.clock()
        # The decision and its audit entry commit together inside the store.
        result = await asyncio.to_thread(
            self.deps.approvals.decide, approval_id, approver_email, approve, comment, now, self.deps.policy.version
        )
        approval = result.approval
        if approval is None:
            return DecisionOutcome(accepted=False, message=result.message)
        if self.deps.fault is not None and result.became == "approved":
            await self.deps.fault("decide.after_commit", approval_id)
        if result.became == "expired":  # this click found it overdue: exactly one caller gets here
            await self.finish(approval, "expired")
        if not result.accepted:
            return DecisionOutcome(False, result.message, self.view(approval))
        if result.became in ("approved", "rejected"):
            await self.finish(approval, result.became, who=approver_email)
        else:
            await self.refresh(approval)
        latest = await self.approval(approval_id)
        return DecisionOutcome(True, result.message, self.view(latest))

    async def _recheck(
        self, approval_id: str, approver: str, approve: bool, refusal: str | None = None
    ) -> DecisionOutcome | None:
        """Who may decide is judged now, not when the request was made: refuse an inactive approver, or an
        approval for an inactive requester; store a changed approver list and tell everyone who sees it."""
        approval = await asyncio.to_thread(self.deps.approvals.get, approval_id)
        if approval is None:
            return None
        check = await recheck(self.deps, approval, approver)
        if check.changed:
            latest = check.approval
            await asyncio.to_thread(
                self.deps.audit.append,
                "approval_decision",
                actor="system",
                request_id=approval_id,
                policy_version=self.deps.policy.version,
                payload={"approval_id": approval_id, "became": "reassigned", "approvers": list(latest.approvers)},
            )
            await self.refresh(latest)
            if unreachable(latest):
                note = Reply(text=msg.STUCK.format(title=latest.title) + unreachable_note(latest), route="approval")
                try:
                    await self.fanout.notify(latest.channel, latest.conversation_ref, note)
                except Exception:
                    log.exception("could not tell the requester about approval %s", approval_id)
                await notify_waiters(self.deps.approvals, self.fanout, latest, note)
        if refusal is not None and check.approval.status == "pending":
            check = replace(check, refusal=refusal)  # asked for it too (joined): like the requester
        if check.refusal is None or (check.refusal == msg.REQUESTER_INACTIVE and not approve):
            return None
        await asyncio.to_thread(
            self.deps.audit.append,
            "approval_decision",
            actor=approver,
            request_id=approval_id,
            policy_version=self.deps.policy.version,
            payload={"approval_id": approval_id, "approve": approve, "accepted": False, "message": check.refusal},
        )
        return DecisionOutcome(False, check.refusal, self.view(check.approval))

    async def finish(self, approval: Approval, status: str, who: str = "") -> None:
        """Close the approval's run with the outcome, then update every message and tell the requester."""
        r = await self.close(approval, status)
        title = approval.title
        if status == "approved":
            approvers = approval.approved_by or (who,)  # four eyes: every approver's comment is told
            notes = "".join(decision_note(approval, a) for a in approvers)
            text = f"Approved by {' and '.join(approvers)}.{notes} {r.get('text', '')}".strip()
            reply = Reply(
                text=text,
                route="tool",
                tool=approval.tool,
                sensitive=bool(r.get("sensitive")),
                audit_id=r.get("audit_id"),
                data=r.get("data") or {},
            )
        elif status == "rejected":
            text = msg.APPROVAL_REJECTED.format(title=title, who=who) + decision_note(approval, who)
            reply = Reply(text=text, route="approval")
        else:
            reply = Reply(text=msg.APPROVAL_EXPIRED.format(title=title), route="approval")
        await self.publish(approval, reply)

    async def publish(self, approval: Approval, reply: Reply) -> None:
        """Refresh every message showing `approval`, then tell its requester `reply` (best effort)."""
        await self.refresh(approval)
        try:
            await self.fanout.notify(approval.channel, approval.conversation_ref, reply)
        except Exception:
            log.exception("could not tell the requester about approval %s", approval.id)
        await notify_waiters(self.deps.approvals, self.fanout, approval, reply)

    async def refresh(self, approval: Approval) -> None:
        latest = await self.approval(approval.id)
        refs = [
            MessageRef(channel=c, data=d)
            for c, d in await asyncio.to_thread(self.deps.approvals.message_refs, approval.id)
        ]
        try:
            await self.fanout.refresh(self.view(latest), refs)
        except Exception:
            log.exception("could not refresh the messages of approval %s", approval.id)

    async def expire_due(self) -> list[str]:
        """Expire overdue approvals: tell requesters and update every message showing them."""
        expired = await asyncio.to_thread(self.deps.approvals.expire_due, self.deps.clock(), self.deps.policy.version)
        for approval in expired:  # each expiry was audited with its status change
            await self.finish(approval, "expired")
        return [a.id for a in expired]

    def view(self, approval: Approval) -> ApprovalView:
        """What channels show of an approval: bank numbers masked to their last four characters."""
        view = self.deps.approvals.to_view(approval)
        if unreachable(approval):  # whoever looks sees that it can't be approved as it stands
            view = replace(view, reason=view.reason + unreachable_note(approval))
        spec = self.deps.tools.get(approval.tool)
        return replace(view, arguments=spec.redact(view.arguments)) if spec is not None else view

    async def approval(self, approval_id: str) -> Approval:
        approval = await asyncio.to_thread(self.deps.approvals.get, approval_id)
        if approval is None:
            raise ApprovalError(f"there is no approval {approval_id}")
        return approval
