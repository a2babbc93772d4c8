"""Approval jobs: expiry at the deadline, reminders before it, escalation when no approver is reachable."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from bot.jobs import JobContext, JobQueue
from channels.base import ApprovalView, MessageRef, Reply
from graphs.eligibility import escalation_approvers
from graphs.governance.approval_joins import ApprovalJoins
from graphs.governance.approval_records import when
from graphs.governance.approval_tables import ApprovalRow
from graphs.governance.audit import begin_serialised_write

log = logging.getLogger(__name__)

REMINDER = (
    'Reminder: "{title}" is still waiting for approval from {approvers}. It expires at {expires} '
    "(approval {approval_id})."
)
ESCALATED = (
    'Too few of the approvers of "{title}" can be reached in the directory ({approvers}). I have asked '
    "{fallback} to step in: they can approve it now (approval {approval_id})."
)
NO_FALLBACK = (
    'Too few of the approvers of "{title}" can be reached in the directory ({approvers}), and no fallback group '
    "is configured. Please contact {contact} (approval {approval_id})."
)
DEFAULT_CONTACT = "your IT service desk"


async def expire_approvals(ctx: JobContext, approval_id: str | None = None, **_: Any) -> None:
    """Expire every overdue approval (each exactly once: the store's compare-and-set picks one caller);
    the agent tells the requester and updates every message showing it."""
    expired = await ctx.agent.expire_due()
    if expired:
        log.info("expired approvals %s", ", ".join(expired))


async def remind_approvers(ctx: JobContext, approval_id: str | None = None, **_: Any) -> None:
    """Remind the approvers of one approval (`approval_id`), or sweep for every approval now inside the
    reminder window and enqueue one reminder job each (so each reminder runs under its own key)."""
    if ctx.reminder_before is None:
        return
    if approval_id is None:
        for due in await _due_for_reminder(ctx):
            await ctx.queue.enqueue("remind_approvers", key=f"remind:{due}", approval_id=due)
        return
    key = f"remind:{approval_id}"
    if await ctx.keys.done(key):
        return
    approval = await asyncio.to_thread(ctx.approvals.get, approval_id)
    if approval is not None and approval.status == "pending" and ctx.clock() < approval.expires_at:
        waiting = [a for a in approval.approvers if a not in approval.approved_by] or list(approval.approvers)
        text = REMINDER.format(
            title=approval.title,
            approvers=", ".join(waiting),
            expires=when(approval.expires_at),
            approval_id=approval.id,
        )
        if not await tell_requesters(ctx, approval, Reply(text=text, route="approval"), "remind"):
            return  # someone was not reached: the sweep tries again (each person is told once)
        log.info("reminded the approvers of %s", approval.id)
    await ctx.keys.finish(key, "remind_approvers")


async def tell_requesters(ctx: JobContext, approval: Any, reply: Reply, kind: str, skip: tuple[str, ...] = ()) -> bool:
    """Tell the requester and everyone whose identical request joined `approval`, each once (a claimed key
    per person, released when the post fails) in the conversation they asked in (not in the `skip`
    channels); False when someone could not be reached now."""
    waiters = await asyncio.to_thread(ApprovalJoins(ctx.approvals).waiters, approval.id)
    people = [(approval.requester, approval.channel, approval.conversation_ref)]
    people += [(w.requester, w.channel, w.conversation_ref) for w in waiters]
    people = [p for p in people if p[1] not in skip]
    reached = True
    for who, channel, ref in people:
        key = f"told:{kind}:{approval.id}:{hashlib.sha256(who.encode()).hexdigest()[:16]}"
        if not await ctx.keys.finish(key, kind):
            continue  # told already (an earlier or a concurrent run)
        try:
            await ctx.agent.fanout.notify(channel, ref, reply)
        except Exception:
            log.exception("could not tell a requester of approval %s (%s)", approval.id, kind)
            await ctx.keys.release(key)
            reached = False
    return reached


async def _due_for_reminder(ctx: JobContext) -> list[str]:
    assert ctx.reminder_before is not None
    now = ctx.clock()
    query = (
        select(ApprovalRow.id)
        .where(ApprovalRow.status == "pending")
        .where(ApprovalRow.expires_at > now, ApprovalRow.expires_at <= now + ctx.reminder_before)
        .limit(500)
    )

    def read() -> list[str]:
        with ctx.approvals._sessions() as session:
            return list(session.execute(query).scalars())

    ids = await asyncio.to_thread(read)
    return [i for i in ids if not await ctx.keys.done(f"remind:{i}")]


async def escalate_approval(ctx: JobContext, approval_id: str, **_: Any) -> None:
    """When too few of an approval's approvers are active to reach its quorum, make the fallback group's
    active members eligible approvers (stored with its audit entry in one transaction), offer them the
    request in every channel and tell the requester's thread. Without a fallback, say whom to contact."""
    key = f"escalate:{approval_id}"
    if await ctx.keys.done(key):
        return
    approval = await asyncio.to_thread(ctx.approvals.get, approval_id)
    active = await _active_approvers(ctx, approval) if approval is not None else None
    if approval is not None and active is not None:
        fallback = await escalation_approvers(ctx.directory, ctx.escalation_group, approval.requester)
        fields = {"title": approval.title, "approvers": ", ".join(approval.approvers), "approval_id": approval.id}
        escalated = await asyncio.to_thread(_hand_over, ctx, approval, [*active, *fallback]) if fallback else None
        if escalated is not None:
            text = ESCALATED.format(**fields, fallback=f"{ctx.escalation_group} ({', '.join(fallback)})")
            await ctx.agent.fanout.offer(ctx.agent.view(escalated), approval.channel)
        else:
            text = NO_FALLBACK.format(**fields, contact=ctx.contacts.get("IT", DEFAULT_CONTACT))
            await asyncio.to_thread(
                ctx.audit.append,
                "handoff",
                actor="system",
                request_id=approval.id,
                payload={"approval_id": approval.id, "escalated_to": ctx.escalation_group, "fallback": []},
            )
        await tell_requesters(ctx, approval, Reply(text=text, route="handoff"), "escalate")
        log.warning("approval %s escalated: too few of its approvers are reachable", approval.id)
    await ctx.keys.finish(key, "escalate_approval")


async def _active_approvers(ctx: JobContext, approval: Any) -> list[str] | None:
    """The approval's active approvers when they are too few for its quorum (escalate); None otherwise."""
    if approval.status != "pending":
        return None
    gone = await ctx.directory.inactive(list(approval.approvers))
    active = [a for a in approval.approvers if a not in gone]
    missing = approval.required - len(approval.approved_by)
    return active if len([a for a in active if a not in approval.approved_by]) < missing else None


def _hand_over(ctx: JobContext, approval: Any, approvers: list[str]) -> Any:
    """Store the new approvers and the escalation's audit entry in one transaction (compare-and-set on the
    version: a decision in between wins and nothing is escalated); the updated approval, or None."""
    eligible = [a for a in dict.fromkeys(approvers) if a != approval.requester]
    with ctx.approvals._sessions() as session, session.begin():
        begin_serialised_write(session)
        statement = (
            update(ApprovalRow)
            .where(ApprovalRow.id == approval.id, ApprovalRow.version == approval.version)
            .where(ApprovalRow.status == "pending")
            .values(approvers=eligible, version=ApprovalRow.version + 1)
        )
        if session.execute(statement).rowcount != 1:  # type: ignore[attr-defined]
            return None
        ctx.audit.append_in(
            session,
            "handoff",
            actor="system",
            request_id=approval.id,
            payload={"approval_id": approval.id, "escalated_to": ctx.escalation_group, "approvers": eligible},
        )
    return ctx.approvals.get(approval.id)


class SchedulingFanout:
    """Wraps the channel fanout: when a new approval is offered, enqueue its expiry at the deadline, its
    reminder before that and an escalation check now. A failing queue never blocks the offer (the
    worker's sweeps find overdue approvals anyway)."""

    def __init__(self, inner: Any, queue: JobQueue, reminder_before: timedelta | None) -> None:
        self.inner, self.queue, self.reminder_before = inner, queue, reminder_before

    async def offer(self, view: ApprovalView, origin: str) -> None:
        try:
            await self.schedule(view.approval_id, view.expires_at)
        except Exception:
            log.exception("scheduling the jobs of approval %s failed; the sweeps will catch up", view.approval_id)
        await self.inner.offer(view, origin)

    async def schedule(self, approval_id: str, expires_at: datetime) -> None:
        q = self.queue
        await q.enqueue("escalate_approval", key=f"escalate:{approval_id}", approval_id=approval_id)
        await q.enqueue("expire_approvals", key=f"expire:{approval_id}", at=expires_at, approval_id=approval_id)
        if self.reminder_before is not None:
            await q.enqueue(
                "remind_approvers",
                key=f"remind:{approval_id}",
                at=expires_at - self.reminder_before,
                approval_id=approval_id,
            )

    async def refresh(self, view: ApprovalView, refs: list[MessageRef]) -> None:
        await self.inner.refresh(view, refs)

    async def notify(self, channel: str, conversation_ref: dict[str, Any], reply: Reply) -> None:
        await self.inner.notify(channel, conversation_ref, reply)
