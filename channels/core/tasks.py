"""Work a channel starts after its ack: in arrival order per conversation, bounded, drained at shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from channels.context import new_reference_id

log = logging.getLogger(__name__)


class Background:
    """The channel's background tasks. `before` runs ahead of each piece of work (Slack lets a burst's
    acks go first); `limit` bounds how many run at once (the rest wait their turn)."""

    def __init__(
        self, channel: str, *, before: Callable[[], Awaitable[None]] | None = None, limit: int | None = None
    ) -> None:
        self._channel = channel
        self._before = before
        self._slots = asyncio.Semaphore(limit) if limit else None
        self._tasks: set[asyncio.Task[None]] = set()
        self._last: dict[str, asyncio.Task[None]] = {}  # conversation → its latest queued work

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    def spawn(self, work: Coroutine[Any, Any, None], order_key: str | None = None) -> asyncio.Task[None]:
        """Start `work`; with an `order_key`, only after the earlier work of the same key has finished
        (a thread's messages run in the order they came; the coordinator's lock adds mutual exclusion
        across processes)."""
        after = self._last.get(order_key) if order_key else None
        task = asyncio.create_task(self._run(work, after))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if order_key:
            self._last[order_key] = task

            def forget(done: asyncio.Task[None]) -> None:
                if self._last.get(order_key) is done:
                    del self._last[order_key]

            task.add_done_callback(forget)
        return task

    async def _run(self, work: Coroutine[Any, Any, None], after: asyncio.Task[None] | None) -> None:
        try:
            if after is not None:
                await asyncio.wait([after])
            if self._before is not None:
                await self._before()
            if self._slots is None:
                await work
            else:
                async with self._slots:
                    await work
        except Exception:  # the turn runner has its own boundary: this is the transport around it
            log.exception("%s background work failed (reference %s)", self._channel, new_reference_id())
        finally:
            work.close()  # no "never awaited" warning when it was cancelled before it started

    async def drain(self, timeout_s: float = 30.0) -> None:
        """Wait for the work started by acknowledged deliveries (at shutdown; in tests)."""
        while self._tasks:
            _done, pending = await asyncio.wait(set(self._tasks), timeout=timeout_s)
            if pending:
                log.warning("%d %s tasks still running after %ss", len(pending), self._channel, timeout_s)
                return

    def cancel(self) -> None:
        for task in list(self._tasks):
            task.cancel()
