"""Slack's half of one message turn: the placeholder or stream it begins with, the sender's identity, the
answer shown while it is produced, and its delivery in the thread (`channels.core.turns.PlatformTurn`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from channels.base import InboundMessage, Reply
from channels.context import new_reference_id
from channels.coordination import CoordinationUnavailable
from channels.core import wording
from channels.core.live import LiveAnswer
from channels.slack.events import SlackMessage, assistant_marker, clean_text, event_key, mentioned_users, thread_marker
from channels.slack.live import SlackLive
from channels.slack.render import render_text
from channels.slack.webapi import WebApiError

if TYPE_CHECKING:
    from channels.slack.turns import SlackTurns

log = logging.getLogger(__name__)
PLACEHOLDER_LOOKUP_S = 0.5  # the placeholder marker is cosmetic: never let a slow Redis hold up the turn
STREAM_PREFIX = "stream:"  # a remembered placeholder that is an open chat stream


class SlackTurn:
    """`channels.core.turns.PlatformTurn` for one Slack message."""

    settled: tuple[type[BaseException], ...] = (
        WebApiError,
    )  # `SlackApi` retried what was safe; the outbox re-posts a failed update

    def __init__(
        self,
        msg: SlackMessage,
        bot_user_id: str | None,
        turns: SlackTurns,
        placeholder: str | None = None,
        *,
        streamed: bool = False,
        recovered: bool = False,
    ):
        self.msg = msg
        self.key = event_key(msg.event_id)
        self.conversation_key = msg.conversation_key
        self.placeholder = placeholder
        self.streamed = streamed  # the placeholder is an open chat stream the answer is streamed into
        self.recovered = recovered
        self._bot = bot_user_id
        self._turns = turns
        self._live: SlackLive | None = None
        self._answer: LiveAnswer | None = None
        self.deferred = False  # the stream is opened with the first words (assistant threads)

    async def begin(self) -> None:
        msg = self.msg
        await self._turns.coordinator.remember(
            thread_marker(msg.team, msg.channel, msg.thread_ts), "1", self._turns.thread_ttl_s
        )
        assistant = msg.direct and await self._turns.coordinator.recall(assistant_marker(msg.channel, msg.thread_ts))
        if assistant:  # Slack shows "is thinking…" under the thread and clears it when the answer comes
            await self._turns.assistant_status(msg)
        # Cosmetic: when Slack refuses it, the answer is posted at the end instead. A turn re-run after a
        # crash (recovery, or a retry taking over from a dead process) reuses the first attempt's placeholder
        # (an open stream is then stopped and replaced whole: the dead process may have streamed into it).
        marker = f"placeholder:{self.key}"
        with contextlib.suppress(CoordinationUnavailable, TimeoutError):
            earlier = await asyncio.wait_for(self._turns.coordinator.recall(marker), PLACEHOLDER_LOOKUP_S)
            if earlier:
                self.streamed = self.recovered = earlier.startswith(STREAM_PREFIX)
                self.placeholder = earlier.removeprefix(STREAM_PREFIX)
                return
        if assistant and self._turns.outbox.streams.available:
            self.deferred = True  # "is thinking…" shows until the first words start the stream
            return
        await self._start_stream()
        if self.streamed:
            return
        if assistant:
            return
        try:
            self.placeholder = await self._turns.api.post(msg.channel, render_text(wording.THINKING), msg.thread_ts)
        except WebApiError as exc:
            log.warning("no placeholder for %s (%s): the answer will be posted", msg.conversation_key, exc)
            return
        await self._remember_placeholder(marker, self.placeholder)

    async def _remember_placeholder(self, marker: str, value: str) -> None:
        with contextlib.suppress(CoordinationUnavailable, TimeoutError):
            remember = self._turns.coordinator.remember(marker, value, self._turns.thread_ttl_s)
            await asyncio.wait_for(remember, PLACEHOLDER_LOOKUP_S)

    async def inbound(self) -> InboundMessage:
        msg = self.msg
        others = [uid for uid in mentioned_users(msg.text) if uid != self._bot]
        lookups = await asyncio.gather(*map(self._turns.email_of, [msg.user, *others]))
        failures = [f for _e, f in lookups if f is not None]
        if failures:
            # Degrade, never drop the turn: an unidentified sender gets answers without personal tools.
            log.warning(
                "Slack user look-up failed for event %s (reference %s): %s; answering without the user's identity",
                msg.event_id,
                new_reference_id(),
                "; ".join(map(str, failures)),
            )
        known = {uid: e for uid, (e, _f) in zip(others, lookups[1:], strict=True) if e}
        return InboundMessage(
            channel="slack",
            conversation_key=msg.conversation_key,
            user_id=msg.user,
            user_email=await self._turns.runner.identify(lookups[0][0]),
            text=clean_text(msg.text, self._bot, known),
            message_id=msg.event_id,
            shared=msg.shared,
            conversation_ref=msg.conversation_ref(),
        )

    async def _start_stream(self) -> str | None:
        """Open the streamed reply (remembered, so a re-run after a crash finishes this same message)."""
        msg = self.msg
        self.placeholder = await self._turns.outbox.streams.start(msg.channel, msg.thread_ts, msg.user, msg.team)
        self.streamed = self.placeholder is not None
        if self.placeholder is not None:
            await self._posted(self.placeholder, True)
        return self.placeholder

    def live(self) -> LiveAnswer | None:
        """The answer shown while it is produced: appended to the open stream (opened with the first words
        when deferred), or growing in the placeholder (posted with the first words where there is none). Not
        for a recovered turn: the dead process may have streamed part of the answer already, so its message
        is replaced whole at the end."""
        if self.recovered or (self.streamed and not self.placeholder):
            return None
        outbox, msg = self._turns.outbox, self.msg
        start = self._start_stream if self.deferred else None
        self._live = SlackLive(
            outbox.api,
            outbox.streams,
            msg.channel,
            msg.thread_ts,
            self.placeholder,
            self.streamed or self.deferred,
            self._posted,
            start,
        )
        self._live.interval_s = outbox.update_every_s
        self._answer = LiveAnswer()
        self._answer.pump(self._live.show)
        return self._answer

    async def _posted(self, ts: str, streamed: bool) -> None:
        """A message now shows this turn (a stream, or the first words posted): it is the placeholder from now
        on, also for a re-run after a crash, which then finishes it instead of posting a second message."""
        self.placeholder, self.streamed = ts, streamed
        await self._remember_placeholder(f"placeholder:{self.key}", (STREAM_PREFIX if streamed else "") + ts)

    async def _settle(self) -> tuple[str, bool]:
        """Stop showing live text; what the stream already shows, and whether it must be replaced whole."""
        if self._answer is None or self._live is None:
            return "", False
        await self._answer.finish()
        return (self._live.shown if self.streamed else ""), self._live.broken

    async def deliver(self, reply: Reply) -> None:
        shown, broken = await self._settle()
        if self.deferred and self.placeholder is None:  # no words came while it ran: the stream opens now
            await self._start_stream()
        await self._turns.outbox.deliver(
            self.msg.conversation_ref(),
            reply,
            self.placeholder,
            streamed=self.streamed,
            recovered=self.recovered or broken,
            shown=shown,
        )

    async def tell(self, text: str) -> None:
        await self._settle()
        if self.streamed and self.placeholder:
            await self._turns.outbox.streams.stop_quietly(self.msg.channel, self.placeholder)
        await self._turns.outbox.show(self.msg.channel, self.msg.thread_ts, render_text(text), self.placeholder)

    def saved(self) -> dict[str, Any]:
        return {"placeholder": self.placeholder, "streamed": self.streamed}
