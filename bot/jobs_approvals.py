"""Approval jobs: expiry at the deadline, reminders before it, escalation when no approver is reachable."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot.jobs import JobContext, JobQueue
from channels.base import ApprovalView, MessageRef, Reply
from graphs.governance.approval_records import when
from graphs.governance.approval_tables import ApprovalRow

log = logging.getLogger(__name__)

REMINDER = (
    'Reminder: "{title}" is still waiting for approval from {approvers}. It expires at {expires} '
    "(approval {approval_id})."
)
ESCALATED = (
    'None of the approvers of "{title}" can be reached in the directory ({approvers}). I have asked {fallback} '
    "to step in (approval {approval_id})."
)
NO_FALLBACK = (
    'None of the approvers of "{title}" can be reached in the directory ({approvers}), and no fallback group is '
    "configured. Please contact {contact} (approval {approval_id})."
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
        await ctx.agent.fanout.notify(approval.channel, approval.conversation_ref, Reply(text=text, route="approval"))
        log.info("reminded the approvers of %s", approval.id)
    await ctx.keys.finish(key, "remind_approvers")


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
    """When none of an approval's eligible approvers is an active directory user, tell the requester's
    thread and hand the request to the fallback group (audited)."""
    key = f"escalate:{approval_id}"
    if await ctx.keys.done(key):
        return
    approval = await asyncio.to_thread(ctx.approvals.get, approval_id)
    if approval is not None and approval.status == "pending" and not await _reachable(ctx, approval.approvers):
        fallback: list[str] = []
        if ctx.escalation_group:
            members = await ctx.directory.group_members(ctx.escalation_group)
            fallback = [m for m in members if m != approval.requester]
        fields = {"title": approval.title, "approvers": ", ".join(approval.approvers), "approval_id": approval.id}
        if fallback:
            text = ESCALATED.format(**fields, fallback=f"{ctx.escalation_group} ({', '.join(fallback)})")
        else:
            text = NO_FALLBACK.format(**fields, contact=ctx.contacts.get("IT", DEFAULT_CONTACT))
        await asyncio.to_thread(
            ctx.audit.append,
            "handoff",
            actor="system",
            request_id=approval.id,
            payload={"approval_id": approval.id, "escalated_to": ctx.escalation_group, "fallback": fallback},
        )
        await ctx.agent.fanout.notify(approval.channel, approval.conversation_ref, Reply(text=text, route="handoff"))
        log.warning("approval %s escalated: no eligible approver is reachable", approval.id)
    await ctx.keys.finish(key, "escalate_approval")


async def _reachable(ctx: JobContext, approvers: tuple[str, ...]) -> bool:
    for email in approvers:
        person = await ctx.directory.get(email)
        if person is not None and person.active:
            return True
    return False


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
