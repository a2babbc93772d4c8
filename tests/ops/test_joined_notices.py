"""One request, one approval, and everyone who asked hears about it: the worker's reminder, escalation and
expiry jobs, on PostgreSQL with Redis coordination, tell the original requester and each person whose
identical request joined the approval, once each, in the conversation each of them asked in."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.jobs import JobContext, Schedule, build_registry
from bot.jobs_approvals import escalate_approval, expire_approvals, remind_approvers
from bot.metrics import Metrics
from bot.queue import InProcessQueue
from bot.settings import Settings
from bot.wiring import Runtime, open_runtime
from bot.worker import build_job_context
from channels.base import ApprovalView, InboundMessage, MessageRef, Reply
from tests.ops.conftest import CAROL, DAN, HECTOR, say

BOB = "bob.martin@example.com"


class FlakyChannel:
    """Bob's channel: records what reaches his conversation; fails the next `failures` posts."""

    name = "flaky"

    def __init__(self) -> None:
        self.told: list[tuple[str, str]] = []  # (conversation, text)
        self.failures = 0

    async def refresh_approval(self, ref: MessageRef, view: ApprovalView) -> None:
        return None

    async def offer_approval(self, view: ApprovalView, origin: str) -> None:
        return None

    async def notify(self, conversation_ref: dict[str, Any], reply: Reply) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("the platform is down")
        self.told.append((str(conversation_ref["conversation"]), reply.text))


@pytest.fixture
async def pg_runtime(
    tmp_path: Path, sample_index: Path, embedder: Any, fresh_pg_url: str, redis_url: str
) -> AsyncIterator[tuple[Runtime, Settings]]:
    from bot.cli_db import upgrade

    await asyncio.to_thread(upgrade, fresh_pg_url)
    settings = Settings(  # type: ignore[call-arg]
        data_dir=tmp_path / "data", index_dir=sample_index, database_url=fresh_pg_url, redis_url=redis_url
    )
    async with open_runtime(settings, embedder=embedder, metrics=Metrics()) as rt:
        yield rt, settings


async def _joined_request(rt: Runtime, flaky: FlakyChannel) -> str:
    """Hector asks in his conversation; Bob asks for exactly the same in his own (another channel)."""
    rt.fanout.outboxes[flaky.name] = flaky  # type: ignore[assignment]
    first = await say(rt, HECTOR, "put a hold on invoice INV-10077", key="hector")
    assert first.approval is not None
    bob = InboundMessage(
        channel=flaky.name,
        conversation_key="flaky:bob",
        user_id=BOB,
        user_email=BOB,
        text="please hold invoice INV-10077",
        conversation_ref={"conversation": "bob"},
    )
    joined = await rt.agent.handle(bob)
    assert joined.data.get("joined") is True, joined.text
    await rt.agent.drain()
    rt.local_outbox.drain("hector")
    return first.approval.approval_id


async def test_reminders_and_the_expiry_reach_the_requester_and_who_joined_once_each(
    pg_runtime: tuple[Runtime, Settings],
) -> None:
    rt, settings = pg_runtime
    flaky = FlakyChannel()
    approval_id = await _joined_request(rt, flaky)
    queue = InProcessQueue(build_registry(Schedule()))
    ctx: JobContext = build_job_context(settings, rt, queue, Metrics())
    queue.ctx = ctx
    ctx.reminder_before = timedelta(days=2)  # the approval (24 h) is inside the reminder window
    try:
        flaky.failures = 1  # Bob's platform is down for the first reminder
        await remind_approvers(ctx, approval_id=approval_id)
        hector = [n["text"] for n in rt.local_outbox.drain("hector")]
        assert len(hector) == 1 and hector[0].startswith("Reminder:") and CAROL in hector[0] and DAN in hector[0]
        assert flaky.told == [] and not await ctx.keys.done(f"remind:{approval_id}")

        # The next runs (two at once, then another) tell Bob once and Hector not again.
        await asyncio.gather(*(remind_approvers(ctx, approval_id=approval_id) for _ in range(2)))
        await remind_approvers(ctx, approval_id=approval_id)
        assert rt.local_outbox.drain("hector") == []
        assert [(c, t.split(":")[0]) for c, t in flaky.told] == [("bob", "Reminder")]
        assert await ctx.keys.done(f"remind:{approval_id}")

        rt.deps.clock = lambda: datetime.now(UTC) + timedelta(days=2)  # the deadline has passed
        await asyncio.gather(expire_approvals(ctx), expire_approvals(ctx))
        await expire_approvals(ctx)
        expired = [n["text"] for n in rt.local_outbox.drain("hector")]
        assert len(expired) == 1 and "expired before it was approved" in expired[0]
        assert [t for _c, t in flaky.told[1:]] == expired, "Bob hears the expiry once, in his own conversation"
        stored = rt.approvals.get(approval_id)
        assert stored is not None and stored.status == "expired"
    finally:
        await queue.stop()


async def test_an_escalation_notice_reaches_who_joined_too(pg_runtime: tuple[Runtime, Settings]) -> None:
    rt, settings = pg_runtime
    flaky = FlakyChannel()
    approval_id = await _joined_request(rt, flaky)
    queue = InProcessQueue(build_registry(Schedule()))
    ctx = build_job_context(settings, rt, queue, Metrics())
    queue.ctx = ctx
    try:
        for person in (CAROL, DAN):
            await rt.directory.deactivate_user(person)
        ctx.escalation_group = "it-admins"
        await escalate_approval(ctx, approval_id=approval_id)
        await escalate_approval(ctx, approval_id=approval_id)  # a re-run: nobody is told twice
        hector = [n["text"] for n in rt.local_outbox.drain("hector") if "can be reached" in n["text"]]
        assert len(hector) == 1 and "it-admins" in hector[0]
        assert [t for _c, t in flaky.told] == hector
    finally:
        await queue.stop()
