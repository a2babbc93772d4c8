"""The durable inbox every channel shares: persist an accepted event before its ack, mark it done after
its reply was delivered, and let a recovery pass finish what a dead process started.

A delivery is claimed for *completion*, not receipt: a redelivery of an event whose process died is
taken over once its lease ran out. The database record is the truth; Redis only remembers finished
keys (a fast path) and stands in, non-durably, when the database can't be reached.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

from channels.base import Reply
from channels.coordination import Breaker, CoordinationUnavailable, Coordinator
from channels.core.present import reply_from_data, reply_to_data

log = logging.getLogger(__name__)

__all__ = ["Inbox", "InboxItem", "InboxStore", "InboxUnavailable", "reply_from_data", "reply_to_data"]

Accepted = Literal["new", "duplicate", "takeover"]
DONE_TTL_S = 2 * 86400  # Slack retries for minutes and Teams for less: two days is plenty


class InboxUnavailable(Exception):
    """Neither the database nor the coordination store can record the event: the sender must retry."""


@dataclass(frozen=True)
class InboxItem:
    key: str
    channel: str
    kind: str
    payload: dict[str, Any]
    state: str  # received | answered | done | failed
    attempts: int
    reply: dict[str, Any] | None = None


class InboxStore(Protocol):
    """Durable records of accepted events (blocking methods; the `Inbox` runs them in threads)."""

    def accept(
        self, key: str, channel: str, kind: str, payload: Mapping[str, Any], now: datetime, lease: timedelta
    ) -> Accepted: ...

    def answered(self, key: str, reply: Mapping[str, Any], now: datetime, lease: timedelta) -> None: ...

    def complete(self, key: str, ok: bool, now: datetime) -> None: ...

    def take_due(self, now: datetime, lease: timedelta, limit: int, channels: list[str]) -> list[InboxItem]:
        """Unfinished items of `channels` whose lease ran out, each re-leased to the caller (compare-and-set)."""
        ...

    def ping(self) -> None: ...


Replayer = Callable[[InboxItem], Awaitable[None]]


@dataclass
class Inbox:
    """The channel-neutral inbox: `accept` on the ack path, `answered`/`complete` from the turn,
    `recover` from the periodic worker with one replayer per channel."""

    store: InboxStore | None
    coordinator: Coordinator
    lease: timedelta = timedelta(seconds=120)
    timeout_s: float = 1.0  # each dependency call on the ack path; Slack wants the ack within 3 s
    replayers: dict[str, Replayer] = field(default_factory=dict)
    store_breaker: Breaker = field(default_factory=Breaker)
    fast_breaker: Breaker = field(default_factory=Breaker)
    # A chaos/test hook awaited at named points of a turn (e.g. "turn.after_answer"); None in production.
    fault: Callable[[str, str], Awaitable[None]] | None = None
    replay_concurrency: int = 4  # unfinished events a recovery pass replays at once

    async def checkpoint(self, point: str, key: str) -> None:
        if self.fault is not None:
            await self.fault(point, key)

    async def accept(self, key: str, channel: str, kind: str, payload: Mapping[str, Any]) -> bool:
        """True when this process should handle the event now (new, or taken over from a dead process);
        False for a duplicate. Raises `InboxUnavailable` when nothing can record it."""
        if await self._known_done(key):
            return False
        if self.store is not None and not self.store_breaker.open:
            try:
                result = await self._call(self.store.accept, key, channel, kind, dict(payload), _now(), self.lease)
            except Exception as exc:
                self.store_breaker.failure()
                log.warning("inbox store unavailable (%s); falling back to a non-durable claim", type(exc).__name__)
            else:
                self.store_breaker.success()
                if result == "takeover":
                    log.info("taking over %s: its previous handler did not finish", key)
                return result != "duplicate"
        try:  # no durable record possible: at least never answer twice
            return await asyncio.wait_for(self.coordinator.claim(f"inbox:{key}", DONE_TTL_S), self.timeout_s)
        except (CoordinationUnavailable, TimeoutError) as exc:
            raise InboxUnavailable(f"cannot record {key}") from exc

    async def answered(self, key: str, reply: Reply, extra: Mapping[str, Any] | None = None) -> None:
        """The reply exists: remember it, so a failed delivery is retried rather than recomputed."""
        if self.store is None:
            return
        data = {"reply": reply_to_data(reply), **(extra or {})}
        try:
            await self._call(self.store.answered, key, data, _now(), self.lease)
        except Exception:
            log.warning("could not record the answer to %s", key, exc_info=True)

    async def complete(self, key: str, ok: bool = True) -> None:
        """The event was fully handled (delivered, or the user was told it failed)."""
        if self.store is not None:
            try:
                await self._call(self.store.complete, key, ok, _now())
            except Exception:
                log.warning("could not mark %s done; recovery may deliver it again", key, exc_info=True)
        if not self.fast_breaker.open:
            try:
                await asyncio.wait_for(self.coordinator.remember(f"done:{key}", "1", DONE_TTL_S), self.timeout_s)
                self.fast_breaker.success()
            except (CoordinationUnavailable, TimeoutError):
                self.fast_breaker.failure()

    async def recover(self, limit: int = 50) -> int:
        """Finish unfinished events whose lease ran out (a dead process); returns how many were replayed."""
        if self.store is None:
            return 0
        if not self.replayers:
            return 0
        items = await asyncio.to_thread(self.store.take_due, _now(), self.lease, limit, sorted(self.replayers))
        # A few at a time, not one by one: a replayed turn may wait (for its conversation's lock, a slow
        # answer) and must not hold up every other unfinished event behind it.
        slots = asyncio.Semaphore(self.replay_concurrency)

        async def replay_one(item: InboxItem) -> bool:
            replay = self.replayers.get(item.channel)
            if replay is None:
                return False  # this process doesn't serve that channel; the lease lets another one take it
            async with slots:
                try:
                    await replay(item)
                except Exception:
                    log.exception("replaying %s failed; will retry after its lease", item.key)
                    return False
            return True

        done = sum(await asyncio.gather(*map(replay_one, items)))
        if items:
            log.info("inbox recovery: %d of %d unfinished events replayed", done, len(items))
        return done

    async def ping(self) -> None:
        if self.store is not None:
            await self._call(self.store.ping)

    async def _known_done(self, key: str) -> bool:
        if self.fast_breaker.open:
            return False
        try:
            value = await asyncio.wait_for(self.coordinator.recall(f"done:{key}"), self.timeout_s)
        except (CoordinationUnavailable, TimeoutError):
            self.fast_breaker.failure()
            return False
        self.fast_breaker.success()
        return value is not None

    async def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        # The thread keeps running past the time-out; the caller stops waiting for it.
        return await asyncio.wait_for(asyncio.to_thread(fn, *args), self.timeout_s)


def _now() -> datetime:
    return datetime.now(UTC)
