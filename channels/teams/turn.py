"""Teams' half of one message turn: typing and informative progress, the member look-up, the answer shown
while it is produced (one-to-one chats stream), and its delivery (`channels.core.turns.PlatformTurn`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import aiohttp
from botbuilder.core import TurnContext
from botbuilder.schema import ErrorResponseException

from channels.base import InboundMessage, Reply
from channels.core.live import LiveAnswer
from channels.teams import render
from channels.teams.activities import CHANNEL, activity_key, conversation_key, is_shared, reference_of
from channels.teams.streaming import Progress, TeamsStream, show_live

if TYPE_CHECKING:
    from channels.teams.handler import DeskhandTeamsBot

log = logging.getLogger(__name__)


class TeamsTurn:
    """`channels.core.turns.PlatformTurn` for one Teams message."""

    # `throttled` retried what was safe (429, no connection); a failed POST may have been posted.
    settled: tuple[type[BaseException], ...] = (ErrorResponseException, aiohttp.ClientError, asyncio.TimeoutError)

    def __init__(
        self, ctx: TurnContext, bot: DeskhandTeamsBot, text: str, saved: Mapping[str, Any] | None = None
    ) -> None:
        self.ctx = ctx
        self.key = activity_key(ctx.activity)
        self.conversation_key = conversation_key(ctx.activity)
        self._bot = bot
        self._text = text
        self._stream: TeamsStream | None = None
        if bot.streaming and not is_shared(ctx.activity):  # Teams streams in one-to-one chats only
            stream_id = (saved or {}).get("stream_id")
            self._stream = TeamsStream(
                lambda m: bot.courier.send(ctx, m), interval_s=bot.stream_interval_s, stream_id=stream_id
            )
        self._progress = Progress(
            lambda m: bot.courier.send(ctx, m), self._stream, inform_after_s=bot.inform_after_s, note=render.WORKING
        )
        self._reply: Reply | None = None
        self._answer: LiveAnswer | None = None

    async def begin(self) -> None:
        stream = self._stream
        if stream is not None and stream.stream_id is None:  # a re-run after a crash finishes its stream
            try:
                earlier = await self._bot.memory.turn_stream(self.key)
            except Exception as exc:  # cosmetic here: without it a second message may appear
                log.info("could not look up the stream of %s: %s", self.key, type(exc).__name__)
                earlier = None
            if earlier:
                stream.stream_id, stream.resumed = earlier, True
                stream.begun.set()
        self._progress.start()

    def live(self) -> LiveAnswer | None:
        """Text produced while the turn runs goes into the stream once the informative update began it (an
        answer ready within a second is sent whole); the final message then replaces it."""
        if self._stream is None or self._stream.resumed:
            return None
        self._answer = LiveAnswer()
        self._answer.pump(self._show_live)
        return self._answer

    async def _show_live(self, answer: LiveAnswer) -> None:
        assert self._stream is not None
        await show_live(self._stream, answer, self._started)

    async def inbound(self) -> InboundMessage:
        activity = self.ctx.activity
        message = InboundMessage(
            channel=CHANNEL,
            conversation_key=self.conversation_key,
            user_id=activity.from_property.aad_object_id or activity.from_property.id,
            user_email=await self._bot.identify(self.ctx),
            text=self._text,
            message_id=activity.id or "",
            shared=is_shared(activity),
            user_name=activity.from_property.name,
            conversation_ref=reference_of(activity),
        )
        if message.user_email and not message.shared:
            await self._bot.memory.remember_personal_chat(message.user_email, message.conversation_ref)
        return message

    async def deliver(self, reply: Reply) -> None:
        await self._progress.stop()
        if self._answer is not None:
            await self._answer.finish()
        self._reply = reply
        await self._bot.courier.deliver(self.ctx, reply, self._stream, self._started)
        await self._bot.runner.inbox.checkpoint("teams.after_delivery", self.key)

    async def _started(self, stream_id: str) -> None:
        """The stream exists: remembered (and saved with the answer once there is one), so a recovery
        finishes this message (no second one)."""
        await self._bot.memory.remember_turn_stream(self.key, stream_id)
        if self._reply is not None:
            await self._bot.runner.inbox.answered(self.key, self._reply, {"stream_id": stream_id})
            await self._bot.runner.inbox.checkpoint("teams.stream_started", self.key)

    async def tell(self, text: str) -> None:
        await self._progress.stop()
        if self._answer is not None:
            await self._answer.finish()
        if self._stream is not None and self._stream.stream_id and not self._stream.finished:
            await self._stream.finish(render.text_message(text))  # ends the stream it began
            return
        await self._bot.courier.send(self.ctx, render.text_message(text))

    def saved(self) -> dict[str, Any]:
        return {"stream_id": self._stream.stream_id} if self._stream and self._stream.stream_id else {}
