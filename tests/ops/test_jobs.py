"""The approval jobs on a real runtime: reminders, escalation and expiry run once; a re-run does nothing."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot.jobs import JobContext
from bot.jobs_approvals import SchedulingFanout, escalate_approval, expire_approvals, remind_approvers
from bot.wiring import Runtime
from graphs.governance.audit import AuditRow
from tests.ops.conftest import CAROL, DAN, HECTOR, say

ALICE = "alice.nguyen@example.com"


async def wait_for(condition, timeout: float = 10.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


async def _approval(rt: Runtime) -> str:
    reply = await say(rt, HECTOR, "put a hold on invoice INV-10077")
    assert reply.approval is not None
    rt.local_outbox.drain("c1")
    return reply.approval.approval_id


async def test_reminder_sweep_enqueues_one_reminder_and_a_rerun_sends_nothing(runtime: Runtime, job_ctx: JobContext):
    approval_id = await _approval(runtime)
    job_ctx.reminder_before = timedelta(days=2)  # the approval (24 h) is inside the reminder window
    seen: list[dict] = []

    await remind_approvers(job_ctx)  # the sweep: enqueues remind_approvers(approval_id) in the queue
    await wait_for(lambda: seen.extend(runtime.local_outbox.drain("c1")) or seen)
    assert len(seen) == 1 and seen[0]["text"].startswith("Reminder:") and approval_id in seen[0]["text"]
    assert CAROL in seen[0]["text"] and DAN in seen[0]["text"]

    # The job records its key right after posting; re-runs outside the queue's per-key lock come after that.
    deadline = time.monotonic() + 10
    while await job_ctx.keys.count(f"remind:{approval_id}") == 0:
        assert time.monotonic() < deadline, "the reminder job never recorded its key"
        await asyncio.sleep(0.02)
    await remind_approvers(job_ctx, approval_id=approval_id)  # a re-run (e.g. retried job)
    await remind_approvers(job_ctx)
    await asyncio.sleep(0)  # let anything the sweep might have enqueued start
    assert runtime.local_outbox.drain("c1") == []
    assert await job_ctx.keys.count(f"remind:{approval_id}") == 1


async def test_no_reminder_outside_the_window(runtime: Runtime, job_ctx: JobContext):
    await _approval(runtime)
    job_ctx.reminder_before = timedelta(minutes=5)  # expires in 24 h: not yet
    await remind_approvers(job_ctx)
    assert runtime.local_outbox.drain("c1") == []


async def test_escalation_when_no_approver_is_reachable(runtime: Runtime, job_ctx: JobContext):
    approval_id = await _approval(runtime)
    await escalate_approval(job_ctx, approval_id=approval_id)  # both AP leads active: nothing to do
    assert runtime.local_outbox.drain("c1") == []

    # another invoice: the same hold again would join the first request (one request, one approval)
    second = await say(runtime, HECTOR, "put a hold on invoice INV-10042", key="c2")
    assert second.approval is not None
    for person in (CAROL, DAN):
        await runtime.directory.deactivate_user(person)
    job_ctx.escalation_group = "it-admins"
    await escalate_approval(job_ctx, approval_id=second.approval.approval_id)
    await escalate_approval(job_ctx, approval_id=second.approval.approval_id)  # re-run: nothing twice
    notes = [n for n in runtime.local_outbox.drain("c2") if "can be reached" in n["text"]]
    assert len(notes) == 1 and "it-admins" in notes[0]["text"] and "alice.nguyen@example.com" in notes[0]["text"]
    with runtime.approvals._sessions() as session:
        kinds = session.execute(select(AuditRow.kind).where(AuditRow.request_id == second.approval.approval_id))
        assert list(kinds.scalars()).count("handoff") == 1


async def test_expiry_enqueued_at_the_deadline_tells_the_requester_once(runtime: Runtime, job_ctx: JobContext):
    approval_id = await _approval(runtime)
    runtime.deps.clock = lambda: datetime.now(UTC) + timedelta(days=2)  # the deadline has passed
    fanout = SchedulingFanout(runtime.fanout, job_ctx.queue, reminder_before=None)
    due = datetime.now(UTC) + timedelta(milliseconds=300)
    await fanout.schedule(approval_id, due)
    await fanout.schedule(approval_id, due)  # enqueued twice (two web processes): one pending job

    notes: list[dict] = []
    await wait_for(lambda: notes.extend(runtime.local_outbox.drain("c1")) or notes)
    assert datetime.now(UTC) >= due, "the job must not run before its time"
    assert [n["text"] for n in notes] == [
        f'Your request "{(await _title(runtime, approval_id))}" expired before it was approved. Nothing was changed.'
    ]
    await expire_approvals(job_ctx)  # the sweep finds nothing more to do
    assert runtime.local_outbox.drain("c1") == []
    assert runtime.approvals.get(approval_id).status == "expired"


async def _title(rt: Runtime, approval_id: str) -> str:
    approval = rt.approvals.get(approval_id)
    assert approval is not None
    return approval.title


class _Recorder:
    """A channel that records which approvals were offered to their approvers."""

    name = "recorder"

    def __init__(self) -> None:
        self.offered: list[Any] = []

    async def offer_approval(self, view: Any, origin: str) -> None:
        self.offered.append(view)


async def test_escalation_makes_the_fallback_group_approvers_and_offers_them_the_request(
    runtime: Runtime, job_ctx: JobContext
):
    recorder = _Recorder()
    runtime.fanout.outboxes[recorder.name] = recorder  # type: ignore[assignment]
    # Both come from DESKHAND_ESCALATION_GROUP in production (the worker's jobs and every decision).
    runtime.deps.escalation_group = job_ctx.escalation_group = "it-admins"
    reply = await say(runtime, HECTOR, "put a hold on invoice INV-10077", key="c3")
    assert reply.approval is not None
    approval_id = reply.approval.approval_id
    refused = await runtime.agent.decide(approval_id, ALICE, True)
    assert not refused.accepted  # the AP leads are active: the fallback group has no say yet

    for person in (CAROL, DAN):
        await runtime.directory.deactivate_user(person)
    recorder.offered.clear()
    await escalate_approval(job_ctx, approval_id=approval_id)
    stored = runtime.approvals.get(approval_id)
    assert ALICE in stored.approvers and not {CAROL, DAN} & set(stored.approvers), stored.approvers
    assert [v.approval_id for v in recorder.offered] == [approval_id]  # the fallback members are told
    assert ALICE in recorder.offered[0].approvers
    notes = [n["text"] for n in runtime.local_outbox.drain("c3") if "step in" in n["text"]]
    assert len(notes) == 1 and "it-admins" in notes[0]

    decided = 0
    for member in stored.approvers:  # the fallback members decide; the policy's quorum still applies
        outcome = await runtime.agent.decide(approval_id, member, True)
        assert outcome.accepted, outcome.message
        decided += 1
        if runtime.approvals.get(approval_id).status != "pending":
            break
    assert decided == stored.required
    assert runtime.approvals.get(approval_id).status == "executed"
    with runtime.approvals._sessions() as session:
        rows = session.execute(select(AuditRow.payload).where(AuditRow.kind == "handoff")).scalars()
        escalations = [json.loads(p) for p in rows if json.loads(p).get("approval_id") == approval_id]
    assert len(escalations) == 1 and ALICE in escalations[0]["approvers"]
