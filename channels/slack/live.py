"""A Slack answer shown while it is produced (`channels.core.live`).

Into the turn's open stream, each new piece is appended with `chat.appendStream` as it arrives (pieces
that come while a call is in flight go together in the next one). Without streaming, the growing text
replaces the turn's "Thinking…" message with `chat.update` (or is posted, once, where there is none),
at most once per `interval_s`; the final message (sources, feedback) follows at once when the reply is
ready. `shown` is what the final delivery continues; `broken` means the streamed text can not simply
be continued (the answer was replaced, or the stream closed), so the message is replaced whole.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from channels.base import Reply
from channels.core.live import LiveAnswer
from channels.slack.render import render_reply
from channels.slack.stream import SlackStreams, StreamClosed
from channels.slack.webapi import SlackApi

log = logging.getLogger(__name__)
UPDATE_EVERY_S = 1.0  # chat.update of a growing answer: at most about once a second per message


@dataclass
class SlackLive:
    api: SlackApi
    streams: SlackStreams
    channel: str
    thread_ts: str | None
    ts: str | None  # the open stream, or the placeholder message (None: the first text is posted)
    streamed: bool
    remember: Callable[[str, bool], Awaitable[None]]  # a message posted here (stream?) is the placeholder
    start: Callable[[], Awaitable[str | None]] | None = None  # opens the deferred stream (calls `remember`)
    interval_s: float = UPDATE_EVERY_S
    shown: str = ""
    broken: bool = False

    async def show(self, answer: LiveAnswer) -> None:
        if self.start is not None and self.ts is None:  # the stream opens with the first words
            if not await answer.first():
                return
            self.ts = await self.start()
            if self.ts is None:  # not available after all: the first words are posted instead
                self.streamed = False
        if self.streamed:
            await self._stream(answer)
        else:
            await self._update(answer)

    async def _stream(self, answer: LiveAnswer) -> None:
        assert self.ts is not None
        while (text := await answer.changed()) is not None:
            if not text.startswith(self.shown):  # replaced (the extractive answer won): not appendable
                self.broken = bool(self.shown)
                if self.broken:
                    return
            try:
                await self.streams.append(self.channel, self.ts, text[len(self.shown) :])
            except StreamClosed as exc:
                log.info("stream %s closed while the answer was produced (%s)", self.ts, exc)
                self.broken = True
                return
            self.shown = text

    async def _update(self, answer: LiveAnswer) -> None:
        last: float | None = None
        while await answer.changed() is not None:
            if last is not None and not await answer.pause(last + self.interval_s - time.monotonic()):
                return  # the reply is ready: the final message replaces everything at once
            text = answer.text
            if text == self.shown:
                continue
            message = render_reply(Reply(text=text, route="answer"), feedback=False)
            if self.ts is None:
                self.ts = await self.api.post(self.channel, message, self.thread_ts)
                await self.remember(self.ts, False)
            else:
                await self.api.update(self.channel, self.ts, message)
            last = time.monotonic()
            self.shown = text
