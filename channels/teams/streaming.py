"""Teams streaming (one-to-one chats only): an informative update, text chunks, then the final message.

Every piece is an activity posted in reply to the user's message with a `streaminfo` entity: informative
updates and chunks are `typing` activities with a `streamSequence` (1, 2, …); the final one is the
`message` (with citations, cards, the feedback loop) and no sequence. The first post's response id is the
`streamId` all later posts name. Teams throttles a stream to about one request per second, so requests
are paced `interval_s` apart: the first chunk waits for its turn, later chunks are merged while waiting
(each chunk carries all the text so far, as Teams requires), and the final message goes last.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from channels.core.live import LiveAnswer
from channels.teams import render

log = logging.getLogger(__name__)

Post = Callable[[render.Message], Awaitable[Any]]
DEFAULT_INTERVAL_S = 1.0  # Teams: about one streaming request per second per stream


class TeamsStream:
    """One streamed reply. `post` sends a rendered message in the turn's conversation and returns the
    connector's response (whose `id` is the stream id the first time)."""

    def __init__(self, post: Post, *, interval_s: float = DEFAULT_INTERVAL_S, stream_id: str | None = None) -> None:
        self._post = post
        self._interval_s = interval_s
        self.stream_id = stream_id  # known once the first piece was posted (or when resuming after a crash)
        self.resumed = stream_id is not None  # recovery finishing a stream a dead process began
        self._sequence = 0
        self._last_at: float | None = None
        self.shown = ""  # the text the user sees so far
        self.finished = False
        self.begun = asyncio.Event()  # set once the stream exists (its first piece was posted)
        if stream_id is not None:
            self.begun.set()

    async def inform(self, text: str) -> None:
        """A progress note (the blue bar), before any answer text."""
        await self._send(render.stream_update(text, "informative", self._next(), self.stream_id), wait=True)

    async def show(self, chunks: AsyncIterator[str], on_started: Callable[[str], Awaitable[object]]) -> None:
        """Stream the answer text. `on_started(stream_id)` runs once the stream exists (so a recovery after a
        crash can finish this same message instead of posting a second one)."""
        if self.stream_id is not None:  # begun by the informative update, before the answer existed
            await on_started(self.stream_id)
        text = ""
        async for piece in chunks:
            text += piece
            first = not self.shown
            if first or self._due():
                started = self.stream_id is None
                await self._send(render.stream_update(text, "streaming", self._next(), self.stream_id), wait=first)
                self.shown = text
                if started and self.stream_id:
                    await on_started(self.stream_id)

    async def update(self, text: str) -> None:
        """Show `text` (all of it so far) now: the caller waited `wait_s()` (the answer, produced live)."""
        await self._send(render.stream_update(text, "streaming", self._next(), self.stream_id), wait=True)
        self.shown = text

    def wait_s(self) -> float:
        """How long until the next request keeps Teams' pace."""
        return 0.0 if self._last_at is None else max(0.0, self._last_at + self._interval_s - time.monotonic())

    async def finish(self, message: render.Message) -> Any:
        """Post the final message: it replaces the streamed text in the same chat message."""
        final = render.stream_final(message, self.stream_id)
        response = await self._send(final, wait=True)
        self.finished = True
        return response

    def _next(self) -> int:
        self._sequence += 1
        return self._sequence

    def _due(self) -> bool:
        return self._last_at is None or time.monotonic() - self._last_at >= self._interval_s

    async def _send(self, message: render.Message, *, wait: bool) -> Any:
        if wait and self._last_at is not None:
            pause = self._last_at + self._interval_s - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)  # pacing the requests, not synchronising a test
        response = await self._post(message)
        self._last_at = time.monotonic()
        if self.stream_id is None:
            self.stream_id = getattr(response, "id", None) or None
            if self.stream_id is not None:
                self.begun.set()
        return response


class Progress:
    """What the user sees while a turn runs: the typing indicator (again every `TYPING_EVERY_S`, Teams
    hides it after a few seconds) and, in a one-to-one chat whose answer takes longer than `inform_after_s`,
    an informative update that starts the stream. Cosmetic: a failed post is logged, never raised."""

    TYPING_EVERY_S = 3.0
    TYPING_AT_MOST = 40  # two minutes: no turn waits longer for its conversation lock

    def __init__(self, post: Post, stream: TeamsStream | None, *, inform_after_s: float, note: str) -> None:
        self._post = post
        self._stream = stream
        self._inform_after_s = inform_after_s
        self._note = note
        self._lock = asyncio.Lock()  # held while posting, so stopping never cuts a post in half
        self._stopped = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """No more progress posts: the answer is about to be shown (waits for a post in flight)."""
        self._stopped = True
        async with self._lock:
            if self._task is not None:
                self._task.cancel()

    async def _run(self) -> None:
        await self._once(lambda: self._post(render.typing_message()))
        if self._stream is not None and self._stream.stream_id is None:
            await asyncio.sleep(self._inform_after_s)
            await self._once(lambda: self._stream.inform(self._note) if self._stream else asyncio.sleep(0))
            if self._stream.stream_id is not None:
                return  # the stream shows its own progress from here on
        for _ in range(self.TYPING_AT_MOST):
            await asyncio.sleep(self.TYPING_EVERY_S)
            await self._once(lambda: self._post(render.typing_message()))

    async def _once(self, post: Callable[[], Awaitable[Any]]) -> None:
        async with self._lock:
            if self._stopped:
                return
            try:
                await post()
            except Exception as exc:
                log.info("a progress update was not shown: %s", type(exc).__name__)


async def show_live(stream: TeamsStream, answer: LiveAnswer, started: Callable[[str], Awaitable[object]]) -> None:
    """The answer while it is produced, into `stream` once the informative update began it (an answer ready
    before then is sent whole): all the text so far at Teams' pace; the final message replaces it."""
    waits = {asyncio.ensure_future(stream.begun.wait()), asyncio.ensure_future(answer.ended())}
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()
    if answer.closed or stream.stream_id is None:
        return
    await started(stream.stream_id)
    while await answer.changed() is not None:
        if not await answer.pause(stream.wait_s()):
            return  # the reply is ready: the final message shows all of it
        text = answer.text
        if not text.startswith(stream.shown):
            return  # the answer was replaced: the final message shows it
        if text != stream.shown:
            await stream.update(text)
