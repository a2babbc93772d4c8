"""The Bolt app: request verification, the exactly-once claim, and listeners that ack then hand work off."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from channels.inbox import InboxUnavailable
from channels.slack import messages, reasons
from channels.slack.commands import SHORTCUT, Command, parse_command
from channels.slack.events import (
    AssistantThread,
    Click,
    SlackMessage,
    dedup_key,
    parse_assistant_thread,
    parse_click,
    parse_home_opened,
    parse_message,
)
from channels.slack.webapi import SlackApi

log = logging.getLogger(__name__)

OnMessage = Callable[[SlackMessage, str | None], None]
OnClick = Callable[[Click], None]
OnAssistant = Callable[[AssistantThread], None]
OnCommand = Callable[[Command], None]
OnHome = Callable[[str, str], None]  # user, event id
OnSubmission = Callable[[reasons.Submission, str], None]  # a submitted reason form and its inbox key
# Persist an accepted delivery before its ack: True to handle it now, False for a duplicate.
Accept = Callable[[str, dict[str, Any]], Awaitable[bool]]


class SlackUnreachable(Exception):
    """Slack's Web API could not be reached or answered something that isn't Slack's JSON."""


class BotIdentity:
    """Who the bot is (from `auth.test`, once), for Bolt's authorisation and for ignoring our own posts."""

    def __init__(
        self, api: SlackApi, bot_token: str, bot_user_id: str | None = None, *, timeout_s: float = 2.0
    ) -> None:
        self._api = api
        self._token = bot_token
        self._info: dict[str, Any] = {"user_id": bot_user_id} if bot_user_id else {}
        self._loaded = False
        self._lock = asyncio.Lock()
        self._timeout = timeout_s
        self._retry_at = 0.0  # after a failure, callers on the ack path fail fast until then
        self._backoff = 1.0

    @property
    def loaded(self) -> bool:
        return self._loaded

    @property
    def bot_user_id(self) -> str | None:
        value = self._info.get("user_id")
        return str(value) if value else None

    async def load(self) -> dict[str, Any]:
        """`auth.test`, called once (concurrent callers share it), with a time-out. Raises `SlackApiError`
        on a bad token, `SlackUnreachable` when Slack can't be reached or answers garbage (and then
        fails fast, without calling Slack, until a back-off has passed)."""
        if self._loaded:
            return self._info
        async with self._lock:
            if self._loaded:
                return self._info
            loop = asyncio.get_running_loop()
            if loop.time() < self._retry_at:
                raise SlackUnreachable("auth.test failed recently")
            try:
                info = await asyncio.wait_for(self._api.auth_test(), self._timeout)
            except SlackApiError:
                self._retry_at = loop.time() + self._backoff
                raise
            except Exception as exc:  # refused, timed out, not JSON: all mean "not now"
                self._retry_at = loop.time() + self._backoff
                self._backoff = min(self._backoff * 2, 60.0)
                raise SlackUnreachable(type(exc).__name__) from exc
            self._info = {**info, **{k: v for k, v in self._info.items() if v}}
            self._loaded, self._backoff = True, 1.0
        return self._info

    async def authorize(self, enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
        info = self._info
        if not self.bot_user_id or not self._loaded:
            try:
                info = await self.load()
            except (SlackApiError, SlackUnreachable):
                if not self.bot_user_id:
                    raise
                log.warning("auth.test failed; using the configured bot user id")
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id or info.get("team_id"),
            bot_user_id=self.bot_user_id,
            bot_id=info.get("bot_id"),
            bot_token=self._token,
        )


def build_bolt_app(
    *,
    signing_secret: str,
    api_url: str,
    identity: BotIdentity,
    accept: Accept,
    on_message: OnMessage,
    on_click: OnClick,
    on_submission: OnSubmission | None = None,
    on_assistant: OnAssistant | None = None,
    on_command: OnCommand | None = None,
    on_home: OnHome | None = None,
) -> AsyncApp:
    """A Bolt `AsyncApp` that verifies every request, records each delivery in the inbox before its ack
    (a duplicate is acked and dropped), acks at once (`process_before_response=False`) and passes the
    work to `on_message` / `on_click`."""

    async def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
        return await identity.authorize(enterprise_id, team_id)

    app = AsyncApp(
        signing_secret=signing_secret,
        # Bolt's own client carries no token: `authorize` supplies it per request.
        client=AsyncWebClient(base_url=api_url if api_url.endswith("/") else api_url + "/"),
        authorize=authorize,
        process_before_response=False,
        request_verification_enabled=True,
        ignoring_self_events_enabled=True,
        attaching_conversation_kwargs_enabled=False,  # we reply through our own outbox: less work per ack
        logger=logging.getLogger("slack_bolt"),
    )

    async def claim_once(body: dict[str, Any], next: Callable[[], Awaitable[None]]) -> BoltResponse | None:
        cmd = parse_command(body)  # /deskhand or the message shortcut: one per trigger id
        key = dedup_key(body) or (cmd.key if cmd is not None else None)
        if key is None:
            await next()
            return None
        try:
            first = await accept(key, body)
        except InboxUnavailable:
            log.error("cannot record %s: database and coordination store down; Slack will retry", key)
            return BoltResponse(status=503, body="")
        if not first:
            log.info("duplicate delivery %s acknowledged and dropped", key)
            return BoltResponse(status=200, body="")
        await next()
        return None

    app.use(claim_once)

    async def message_event(body: dict[str, Any], context: AsyncBoltContext) -> None:
        bot_user_id = context.bot_user_id or identity.bot_user_id
        msg = parse_message(body, bot_user_id)
        if msg is not None:
            on_message(msg, bot_user_id)

    async def other_event() -> None:
        return None  # acknowledged so Slack does not retry; nothing to do

    async def button(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        click = parse_click(body)
        if click is not None:
            on_click(click)

    async def reason_form(ack: AsyncAck, body: dict[str, Any]) -> None:
        sub = reasons.parse_submission(body)
        refused = reasons.refusal(sub) if sub is not None else None
        if refused is not None:  # no reason given: the form stays open and says why
            await ack(**refused)
            return
        await ack()  # closes the form; the decision follows (the clicker hears a refusal privately)
        key = reasons.submission_key(body)
        if sub is not None and key is not None and on_submission is not None:
            on_submission(sub, key)

    app.view(reasons.VIEW)(reason_form)

    async def private_question(ack: AsyncAck, body: dict[str, Any]) -> None:
        cmd = parse_command(body)
        if cmd is None or on_command is None:  # incomplete: the usage, never an error
            await ack(text=messages.USAGE)
            return
        await ack()  # within Slack's 3 s; the answer follows ephemerally
        on_command(cmd)

    app.command(messages.COMMAND)(private_question)
    app.shortcut(SHORTCUT)(private_question)

    async def assistant_thread(body: dict[str, Any]) -> None:
        thread = parse_assistant_thread(body)
        if thread is not None and on_assistant is not None:
            on_assistant(thread)

    # The Agents & AI Apps container: a new thread gets a greeting and prompts. Its messages arrive as
    # ordinary DMs (message.im with a thread_ts) and run through the same turn as any DM, so workspaces
    # without the feature are served unchanged.
    app.event("assistant_thread_started")(assistant_thread)

    async def home_opened(body: dict[str, Any]) -> None:
        opened = parse_home_opened(body)
        if opened is not None and on_home is not None:
            on_home(*opened)

    app.event("app_home_opened")(home_opened)
    app.event("app_mention")(message_event)
    app.event("message")(message_event)
    app.event(re.compile(".*"))(other_event)
    app.action(re.compile(".*"))(button)
    return app
