"""The `/deskhand` slash command and the "Ask Deskhand about this" message shortcut: questions answered
privately (ephemeral to the asker), run by the shared turn runner like any message."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_sdk.webhook.async_client import AsyncWebhookClient

from channels.base import ApprovalView, InboundMessage, Reply
from channels.core.delivery import Surface, deliver_reply
from channels.slack import messages
from channels.slack.events import clean_text, conversation_key
from channels.slack.render import Rendered, render_reply, render_text
from channels.slack.webapi import WebApiError

log = logging.getLogger(__name__)

SHORTCUT = "deskhand_ask_about"  # the message shortcut's callback_id (manifest.yml)
HELP_WORDS = frozenset({"", "help", "?"})
APPROVALS_WORDS = frozenset({"approvals", "approval", "waiting"})
RESPONSE_URL_TIMEOUT_S = 10


@dataclass(frozen=True)
class Command:
    """A private question: from `/deskhand <text>` or the message shortcut (the message's text)."""

    team: str
    channel: str
    user: str
    text: str  # raw Slack text of the question (empty: show the usage)
    trigger_id: str
    response_url: str = ""
    shortcut: bool = False

    @property
    def key(self) -> str:
        """The inbox key: Slack gives each invocation its own trigger id."""
        return f"slack:command:{self.trigger_id}"

    def question(self) -> str | None:
        """What to ask the agent; None: show the usage instead."""
        words = clean_text(self.text, None)
        if self.shortcut:
            return words or None
        if words.lower() in HELP_WORDS:
            return None
        if words.lower() in APPROVALS_WORDS:
            return messages.WAITING_QUESTION
        return words


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _id(value: Any) -> str:
    return _text(value.get("id")) if isinstance(value, dict) else _text(value)


def parse_command(body: dict[str, Any]) -> Command | None:
    """A slash command (form fields) or a `message_action` payload; None when it is neither or incomplete."""
    if body.get("type") == "message_action":
        message = body.get("message")
        text = _text(message.get("text")) if isinstance(message, dict) else ""
        team, channel, user = _id(body.get("team")), _id(body.get("channel")), _id(body.get("user"))
        shortcut = True
    elif isinstance(body.get("command"), str):
        team, channel, user = _text(body.get("team_id")), _text(body.get("channel_id")), _text(body.get("user_id"))
        text, shortcut = _text(body.get("text")), False
    else:
        return None
    trigger = _text(body.get("trigger_id"))
    if not (channel and user and trigger):
        return None
    return Command(team, channel, user, text, trigger, _text(body.get("response_url")), shortcut)


class PrivateTurn:
    """`channels.core.turns.PlatformTurn` for a private question: everything the asker sees is ephemeral
    (`chat.postEphemeral`; through the command's `response_url` where the bot is not in the channel)."""

    settled: tuple[type[BaseException], ...] = (WebApiError,)

    def __init__(self, cmd: Command, turns: Any) -> None:
        self.cmd = cmd
        self.key = cmd.key
        # One private conversation per person and channel (memory, and one turn at a time).
        self.conversation_key = conversation_key(cmd.team, cmd.channel, f"private:{cmd.user}")
        self._turns = turns

    async def begin(self) -> None:
        return None

    async def inbound(self) -> InboundMessage:
        cmd = self.cmd
        email, _failure = await self._turns.email_of(cmd.user)
        return InboundMessage(
            channel="slack",
            conversation_key=self.conversation_key,
            user_id=cmd.user,
            user_email=await self._turns.runner.identify(email),
            text=cmd.question() or "",
            message_id=cmd.key,
            shared=False,  # only the asker sees the answer
            conversation_ref={"team": cmd.team, "channel": cmd.channel, "user": cmd.user, "shared": False},
        )

    async def deliver(self, reply: Reply) -> None:
        if await self._as_list(reply):
            return

        async def show(answer: Reply) -> None:
            await self.whisper(render_reply(answer))

        async def tell(text: str) -> None:
            await self.whisper(render_text(text))

        async def approval(view: ApprovalView) -> None:
            await self.whisper(await self._turns.outbox.approval_message(view))

        surface = Surface(show=show, show_privately=show, tell=tell, show_approval=approval)
        await deliver_reply(reply, shared=False, surface=surface)

    async def _as_list(self, reply: Reply) -> bool:
        """What waits for the asker (`/deskhand approvals`): the answer and its cards as one message through
        the command's `response_url`, so the list can be redrawn when one of them is decided or expires
        (channels/slack/private_lists.py). False when that is not possible: delivered the usual way."""
        lists, cmd = self._turns.outbox.private, self.cmd
        if lists is None or not cmd.response_url or not reply.approvals or reply.approval is not None:
            return False
        intro = render_reply(reply)
        if not lists.fits(intro, len(reply.approvals)):
            return False  # too many cards for one message: each is its own (not redrawn)
        cards = [(view, await self._turns.outbox.approval_message(view)) for view in reply.approvals]
        try:
            await lists.post(cmd.response_url, cmd.user, intro, cards)
        except WebApiError as exc:
            log.info("the private list could not go through the response_url (%s): posting it as usual", exc)
            return False
        return True

    async def tell(self, text: str) -> None:
        await self.whisper(render_text(text))

    def live(self) -> None:
        return None  # ephemeral messages cannot be streamed or updated

    def saved(self) -> dict[str, Any]:
        return {}

    async def whisper(self, message: Rendered) -> None:
        await whisper(self._turns.api, self.cmd, message)


async def whisper(api: Any, cmd: Command, message: Rendered) -> None:
    """Show `message` to the asker alone (see `privately`: `chat.postEphemeral` first, then the command's
    `response_url` when Slack refuses because the bot is not a member of that channel)."""
    await privately(api, cmd.channel, cmd.user, message, response_url=cmd.response_url)


async def privately(
    api: Any,
    channel: str,
    user: str,
    message: Rendered,
    *,
    thread_ts: str | None = None,
    response_url: str = "",
    url_first: bool = False,
) -> None:
    """Show `message` to `user` alone, in this order:

    1. `url_first` (a click on an ephemeral message: the answers to `/deskhand` and the shortcut, which may
       sit in a channel the bot is not a member of): the click's `response_url`, as a new ephemeral message
       (`replace_original` false); then `chat.postEphemeral` when the URL is refused (expired after 30
       minutes, or used 5 times).
    2. Otherwise `chat.postEphemeral` (in `thread_ts`), then the `response_url` when Slack refuses it
       (`channel_not_found`, `not_in_channel`: the bot is not, or no longer, in that channel).

    Raises the last `WebApiError` when neither way is open."""
    if url_first and response_url:
        try:
            await respond(response_url, message)
            return
        except WebApiError as exc:
            log.info("the response_url was refused (%s): answering with chat.postEphemeral", exc.reason)
    try:
        await api.ephemeral(channel, user, message, thread_ts)
        return
    except WebApiError as exc:
        if not response_url or url_first:
            raise
        log.info("chat.postEphemeral refused (%s): answering through the response_url", exc.reason)
    await respond(response_url, message)


async def respond(url: str, message: Rendered, *, replace_original: bool = False) -> None:
    """POST `message` to a `response_url`: ephemeral, and a new message unless `replace_original` (instead
    of the message the URL belongs to; sent explicitly either way). Slack accepts 5 posts per URL within 30
    minutes; a refusal or a time-out raises `WebApiError`."""
    hook = AsyncWebhookClient(url, timeout=RESPONSE_URL_TIMEOUT_S)
    try:
        response = await hook.send(
            text=message.text,
            blocks=message.blocks,
            response_type="ephemeral",
            replace_original=replace_original,
        )
    except Exception as exc:  # refused, timed out: the runner tells the user with a reference
        raise WebApiError("response_url", type(exc).__name__) from exc
    if response.status_code != 200:
        raise WebApiError("response_url", f"http_{response.status_code}", status=response.status_code)


async def replace_private(url: str, message: Rendered) -> None:
    """Redraw the (ephemeral) message a `response_url` belongs to."""
    await respond(url, message, replace_original=True)
