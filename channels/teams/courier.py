"""Sending to Teams in a turn or proactively: replies (private when they must be), approval cards, card updates."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar, TypeVar

import aiohttp
from botbuilder.core import TurnContext
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    Attachment,
    ChannelAccount,
    ConversationParameters,
    Entity,
    ErrorResponseException,
)
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from channels.base import ApprovalView, MessageRef, Reply, TurnHandler
from channels.core.delivery import Surface, deliver_reply
from channels.core.stream import sentence_stream
from channels.teams import render
from channels.teams.activities import CHANNEL, is_shared, tenant_of
from channels.teams.memory import TeamsMemory
from channels.teams.streaming import TeamsStream

log = logging.getLogger(__name__)

THROTTLE_ATTEMPTS = 4
MAX_RETRY_AFTER_S = 10.0

T = TypeVar("T")


async def _nothing(_stream_id: str) -> None:
    return None


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status", None) or getattr(response, "status_code", None)


def _retryable(exc: BaseException) -> bool:
    """Throttled by Teams (429) or never connected: in both cases nothing was posted."""
    if isinstance(exc, aiohttp.ClientConnectorError):
        return True
    if not isinstance(exc, ErrorResponseException):
        return False
    response = exc.response
    return (getattr(response, "status", None) or getattr(response, "status_code", None)) == 429


def _retry_after(state: RetryCallState) -> float:
    """Teams' Retry-After when it sends one (bounded), else a short growing pause."""
    exc = state.outcome.exception() if state.outcome else None
    headers = getattr(getattr(exc, "response", None), "headers", None) or {}
    try:
        return min(float(headers.get("Retry-After", "")), MAX_RETRY_AFTER_S)
    except ValueError:
        return min(0.5 * state.attempt_number, MAX_RETRY_AFTER_S)


async def throttled(call: Callable[[], Awaitable[T]]) -> T:
    """Run a Bot Connector call, retrying a few times when Teams throttles it (429) or the connection
    could not be made. Nothing else is retried: a POST whose answer was lost may have been posted."""
    retrying = AsyncRetrying(
        retry=retry_if_exception(_retryable), stop=stop_after_attempt(THROTTLE_ATTEMPTS), wait=_retry_after,
        reraise=True,
    )  # fmt: skip
    async for attempt in retrying:
        with attempt:
            return await call()
    raise AssertionError("unreachable: tenacity re-raises the last error")


class OpenEntity(Entity):  # type: ignore[misc]
    """An entity sent with all its fields (botbuilder's `Entity` model only knows `type`)."""

    _attribute_map: ClassVar[dict[str, dict[str, str]]] = {
        **Entity._attribute_map,
        "additional_properties": {"key": "", "type": "{object}"},
    }

    def __init__(self, data: dict[str, Any]) -> None:
        super().__init__(type=data["type"])
        self.additional_properties = {k: v for k, v in data.items() if k != "type"}


def to_activity(message: render.Message) -> Activity:
    """A rendered message (plain data) as the botbuilder `Activity` the connector client sends."""
    attachments = [
        Attachment(content_type=a["contentType"], content=a["content"]) for a in message.get("attachments", ())
    ]
    return Activity(
        type=message.get("type", ActivityTypes.message),
        text=message.get("text"),
        text_format=message.get("textFormat"),
        channel_data=message.get("channelData"),
        summary=message.get("summary"),
        attachments=attachments or None,
        entities=[OpenEntity(e) for e in message.get("entities", ())] or None,
    )


class Courier:
    """Puts neutral replies and approval views in front of Teams users."""

    def __init__(self, handler: TurnHandler, memory: TeamsMemory, *, app_id: str | None) -> None:
        self._handler = handler
        self._memory = memory
        self._app_id = app_id

    async def deliver(
        self,
        ctx: TurnContext,
        reply: Reply,
        stream: TeamsStream | None = None,
        started: Callable[[str], Awaitable[object]] | None = None,
    ) -> None:
        """Send `reply` in the turn's conversation, the shared way (`deliver_reply`): personal or financial
        results asked for in a channel or group chat go to a private chat with the user. With a `stream`
        (one-to-one chats) the answer is streamed sentence by sentence; `started` gets the stream id."""

        async def privately(answer: Reply) -> None:
            await self.send_privately(ctx, lambda dm: self._show(dm, answer))

        surface = Surface(
            show=lambda answer: self._show(ctx, answer, stream, started),
            show_privately=privately,
            tell=lambda text: self.send(ctx, render.text_message(text)),
            show_approval=lambda view: self.post_approval(ctx, view),
            show_approval_privately=lambda view: self.send_privately(ctx, lambda dm: self.post_approval(dm, view)),
        )
        await deliver_reply(reply, shared=is_shared(ctx.activity), surface=surface)

    async def _show(
        self,
        ctx: TurnContext,
        reply: Reply,
        stream: TeamsStream | None = None,
        started: Callable[[str], Awaitable[object]] | None = None,
    ) -> None:
        message = render.answer_message(reply)
        if stream is None:
            response = await self.send(ctx, message)
        elif stream.resumed and await self._memory.stream_done(stream.stream_id):
            return  # recovery: this answer's final message was posted before the crash
        else:
            response = await self._stream(ctx, stream, message, started)
            if stream.finished:  # the streamed message's id is its stream id (later pieces answer 202 {})
                await self._memory.remember_answer(stream.stream_id, reply)
                return
        await self._memory.remember_answer(getattr(response, "id", None), reply)

    async def _stream(
        self,
        ctx: TurnContext,
        stream: TeamsStream,
        message: render.Message,
        started: Callable[[str], Awaitable[object]] | None,
    ) -> Any:
        if not stream.resumed and stream.stream_id is None:
            # The answer was ready before the informative update was due, so no stream was begun: it goes out
            # whole, at once. Streaming a finished answer would only hold its end back by Teams' one-second
            # pace (the full answer must not arrive later than before streaming existed).
            return await self.send(ctx, message)
        if not stream.resumed and not stream.shown:  # text already shown live: the final message follows
            try:
                await stream.show(sentence_stream(str(message.get("text") or "")), started or _nothing)
            except ErrorResponseException as exc:
                if stream.stream_id is not None or _status(exc) not in (400, 403):
                    raise
                # Teams refused to start a stream (e.g. another one is still open in this chat, left by a
                # process that died): the answer is posted as one message, as in channels.
                log.info("Teams refused a stream (%s); posting the answer as one message", _status(exc))
                return await self.send(ctx, message)
        try:
            response = await stream.finish(message)
        except ErrorResponseException as exc:
            if not stream.resumed or _status(exc) not in (400, 403, 404):
                raise
            # Recovery, and Teams no longer takes the stream (finished with an apology, or timed out):
            # the answer becomes a message of its own.
            log.info("stream %s is closed; the recovered answer is posted as a new message", stream.stream_id)
            return await self.send(ctx, message)
        await self._memory.remember_stream_done(stream.stream_id)
        return response

    async def post_approval(self, ctx: TurnContext, view: ApprovalView) -> None:
        ids = await self.approver_ids(view)
        response = await self.send(ctx, render.approval_message(view, ids))
        await self._memory.remember_view(view)
        if response is None or not response.id:
            log.warning("Teams returned no id for approval card %s; it cannot be refreshed", view.approval_id)
            return
        ref = MessageRef(
            CHANNEL,
            {
                "service_url": ctx.activity.service_url,
                "conversation_id": ctx.activity.conversation.id,
                "activity_id": response.id,
            },
        )
        await self._handler.remember_approval_message(view.approval_id, ref)

    async def update_approval(self, ctx: TurnContext, activity_id: str, view: ApprovalView) -> None:
        """Replace the card `activity_id` in the turn's conversation with the current view, for everyone."""
        activity = to_activity(render.approval_message(view, await self.approver_ids(view)))
        activity.id = activity_id
        await throttled(lambda: ctx.update_activity(activity))
        await self._memory.remember_view(view)

    async def send(self, ctx: TurnContext, message: render.Message) -> Any:
        """Post `message` in the turn's conversation (a reply to the turn's activity)."""
        activity = to_activity(message)
        return await throttled(lambda: ctx.send_activity(activity))

    async def approver_ids(self, view: ApprovalView) -> Mapping[str, str]:
        return await self._memory.aad_ids(view.approvers)

    async def send_privately(self, ctx: TurnContext, send: Callable[[TurnContext], Awaitable[object]]) -> None:
        """Open (or reuse: Teams returns the same id) the one-to-one chat with the turn's user and run
        `send` in it."""
        activity = ctx.activity
        tenant_id = tenant_of(activity)
        params = ConversationParameters(
            is_group=False,
            bot=activity.recipient,
            members=[ChannelAccount(id=activity.from_property.id)],
            tenant_id=tenant_id,
            channel_data={"tenant": {"id": tenant_id}} if tenant_id else None,
        )

        async def in_private_chat(dm: TurnContext) -> None:
            await send(dm)

        adapter = ctx.adapter
        await throttled(
            lambda: adapter.create_conversation(  # type: ignore[call-arg]
                self._app_id,
                in_private_chat,
                params,
                channel_id=activity.channel_id,
                service_url=activity.service_url,
            )
        )
