"""The answer while it is being produced, between the agent (which pushes text) and a channel (which shows it).

The turn runner installs `LiveAnswer.push` as the answer sink (`channels.context.answer_sink`) around the
agent's turn; the agent pushes verified pieces as they are produced (offline answers sentence by sentence,
generative ones as each sentence passes the verifier). A channel's pump task (`LiveAnswer.pump`) reads the
text so far whenever it changed — pieces that arrive while it is busy are merged — and shows it. The
finished reply is still delivered the usual way; the channel uses `shown` to finish the same message.
Showing live text is cosmetic: a failing pump is logged and the final delivery shows the answer anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class LiveAnswer:
    """Text pushed by the agent (same event loop), read by one pump."""

    def __init__(self) -> None:
        self.text = ""  # everything produced so far
        self.resets = 0  # how many times the text so far was replaced (e.g. the extractive answer won)
        self.closed = False
        self._changed = asyncio.Event()
        self._ended = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def push(self, text: str, reset: bool = False) -> None:
        """The answer sink: append `text`, or replace everything with it when `reset`."""
        if self.closed:
            return
        if reset:
            self.text, self.resets = text, self.resets + 1
        else:
            self.text += text
        self._changed.set()

    async def changed(self) -> str | None:
        """The text so far once it changed since the last call; None once the answer is closed."""
        while not self.closed:
            if self._changed.is_set():
                self._changed.clear()
                return self.text
            waiter = asyncio.ensure_future(self._changed.wait())
            ended = asyncio.ensure_future(self._ended.wait())
            await asyncio.wait({waiter, ended}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            ended.cancel()
        return None

    async def first(self) -> bool:
        """Until there is some text (True) or the answer closed without any (False); the text stays
        unread for `changed()`."""
        while not self.text and not self.closed:
            self._changed.clear()  # an empty reset: nothing to show yet
            waits = {asyncio.ensure_future(self._changed.wait()), asyncio.ensure_future(self._ended.wait())}
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for waiting in waits:
                waiting.cancel()
        return bool(self.text) and not self.closed

    async def ended(self) -> None:
        """Until the answer is closed."""
        await self._ended.wait()

    async def pause(self, seconds: float) -> bool:
        """Wait up to `seconds` (a channel's pacing); False when the answer closed meanwhile."""
        if seconds > 0 and not self.closed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ended.wait(), seconds)
        return not self.closed

    def pump(self, show: Callable[[LiveAnswer], Awaitable[None]]) -> None:
        """Run `show(self)` as a task until it returns (it loops over `changed()`)."""
        self._task = asyncio.get_running_loop().create_task(self._run(show))

    async def _run(self, show: Callable[[LiveAnswer], Awaitable[None]]) -> None:
        try:
            await show(self)
        except Exception as exc:  # cosmetic: the final delivery shows the answer whatever happened here
            log.warning("the answer could not be shown while it was produced: %s", type(exc).__name__)

    def close(self) -> None:
        """No more text: the reply is ready (or the turn failed)."""
        self.closed = True
        self._ended.set()

    async def finish(self) -> None:
        """Close and wait for the pump to end (a post in flight completes; pending text is left to the final
        message)."""
        self.close()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
