"""Metrics from the outside: wrappers around the turn handler and the coordinator, and scrape-time gauges.

Wrapping at the composition root keeps channels and the agent free of metric calls: the channel asks the
handler for a turn and the coordinator for a claim exactly as before.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any

from sqlalchemy import func, select

from bot.metrics import Metrics
from channels.base import DecisionOutcome, InboundMessage, MessageRef, Reply
from graphs.governance.approval_tables import ApprovalRow


class InstrumentedHandler:
    """A `TurnHandler` that counts turns by channel and route and times them."""

    def __init__(self, inner: Any, metrics: Metrics) -> None:
        self.inner, self.metrics = inner, metrics

    async def handle(self, message: InboundMessage) -> Reply:
        started, route = time.perf_counter(), "error"
        try:
            reply: Reply = await self.inner.handle(message)
            route = reply.route
            return reply
        finally:
            self.metrics.turns.labels(channel=message.channel, route=route).inc()
            self.metrics.observe(self.metrics.turn_seconds, time.perf_counter() - started, channel=message.channel)

    async def decide(
        self, approval_id: str, approver_email: str | None, approve: bool, comment: str = ""
    ) -> DecisionOutcome:
        outcome: DecisionOutcome = await self.inner.decide(approval_id, approver_email, approve, comment)
        return outcome

    async def may_decide(self, approval_id: str, approver_email: str | None, approve: bool) -> DecisionOutcome | None:
        refusal: DecisionOutcome | None = await self.inner.may_decide(approval_id, approver_email, approve)
        return refusal

    async def feedback(
        self, audit_id: str, user_email: str | None, helpful: bool, *, sources: tuple[str, ...] = (), comment: str = ""
    ) -> None:
        await self.inner.feedback(audit_id, user_email, helpful, sources=sources, comment=comment)

    async def request_human(self, audit_id: str, message: InboundMessage) -> Reply:
        reply: Reply = await self.inner.request_human(audit_id, message)
        return reply

    async def identify(self, email: str) -> str | None:
        found: str | None = await self.inner.identify(email)
        return found

    async def remember_approval_message(self, approval_id: str, ref: MessageRef) -> None:
        await self.inner.remember_approval_message(approval_id, ref)

    def __getattr__(self, name: str) -> Any:  # anything else a channel may use (e.g. view) goes through
        return getattr(self.inner, name)


class InstrumentedCoordinator:
    """A `Coordinator` that counts refused claims: each is a platform retry or redelivery dropped."""

    def __init__(self, inner: Any, metrics: Metrics) -> None:
        self.inner, self.metrics = inner, metrics

    async def claim(self, key: str, ttl_s: int = 86400) -> bool:
        won: bool = await self.inner.claim(key, ttl_s)
        if not won:
            self.metrics.dedup_hits.inc()
        return won

    def lock(self, key: str, timeout_s: float = 120.0) -> AbstractAsyncContextManager[None]:
        lock: AbstractAsyncContextManager[None] = self.inner.lock(key, timeout_s)
        return lock

    async def ping(self) -> None:
        await self.inner.ping()

    async def remember(self, key: str, value: str, ttl_s: int) -> None:
        await self.inner.remember(key, value, ttl_s)

    async def recall(self, key: str) -> str | None:
        value: str | None = await self.inner.recall(key)
        return value

    async def close(self) -> None:
        await self.inner.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def add_sampled_gauges(metrics: Metrics, sessions: Any, queue: Any) -> None:
    """Approvals by status (from the database) and the job queue's depth, read at each scrape."""

    def count_by_status() -> dict[tuple[str, ...], float]:
        with sessions() as session:
            rows = session.execute(select(ApprovalRow.status, func.count()).group_by(ApprovalRow.status)).all()
        return {(status,): float(n) for status, n in rows}

    async def approvals() -> Mapping[tuple[str, ...], float]:
        return await asyncio.to_thread(count_by_status)

    async def depth() -> Mapping[tuple[str, ...], float]:
        return {(): float(await queue.depth())}

    metrics.sampled_gauge("deskhand_approvals", "Approvals by current status", ["status"], approvals)
    metrics.sampled_gauge("deskhand_queue_depth", "Jobs due and not yet started", [], depth)
