"""The Slack channel object the composition root wires: routes, outbox, Socket Mode, background work."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from channels.base import TurnHandler
from channels.coordination import Coordinator
from channels.core.tasks import Background
from channels.core.turns import TurnRunner
from channels.inbox import Inbox, InboxItem
from channels.slack.bolt import BotIdentity, SlackUnreachable, build_bolt_app
from channels.slack.commands import Command, parse_command
from channels.slack.endpoint import Handler, build_events_endpoint
from channels.slack.events import (
    AssistantThread,
    Click,
    SlackMessage,
    event_key,
    parse_assistant_thread,
    parse_click,
    parse_home_opened,
    parse_message,
)
from channels.slack.home import SlackHome
from channels.slack.outbox import SlackOutbox
from channels.slack.private_lists import PrivateLists
from channels.slack.reasons import Submission, parse_submission, submission_key
from channels.slack.stream import SlackStreams
from channels.slack.turns import SlackTurns
from channels.slack.webapi import Directory, SlackApi, build_web_client

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"


class AckFirst:
    """Acks before work: background work starts once no Slack request has been waiting for its ack for
    `quiet_s` (at most `max_wait_s` later), so a burst is acknowledged before its turns compete for the loop."""

    def __init__(self, quiet_s: float = 0.005, max_wait_s: float = 0.5) -> None:
        self._acking = 0
        self._last_ack = 0.0
        self._idle = asyncio.Event()
        self._idle.set()
        self._quiet = quiet_s
        self._max_wait = max_wait_s

    def wrap(self, handler: Handler) -> Handler:
        async def acked_first(request: web.Request) -> web.StreamResponse:
            self._acking += 1
            self._idle.clear()
            try:
                return await handler(request)
            finally:
                self._acking -= 1
                self._last_ack = time.monotonic()
                if self._acking == 0:
                    self._idle.set()

        return acked_first

    async def settled(self) -> None:
        deadline = time.monotonic() + self._max_wait
        while (now := time.monotonic()) < deadline:
            if self._acking:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._idle.wait(), deadline - now)
                continue
            quiet_for = now - self._last_ack
            if quiet_for >= self._quiet:
                return
            await asyncio.sleep(min(self._quiet - quiet_for, deadline - now))  # yield to a burst's next acks


class SlackChannel:
    """Slack for Deskhand: `attach` adds POST /slack/events to the web app; `outbox` serves the agent core."""

    def __init__(
        self,
        *,
        turns: SlackTurns,
        outbox: SlackOutbox,
        api: SlackApi,
        identity: BotIdentity,
        coordinator: Coordinator,
        signing_secret: str,
        api_url: str,
        bolt_factory: Callable[..., AsyncApp],
    ) -> None:
        self.outbox = outbox
        self._turns = turns
        self._api = api
        self._identity = identity
        self._coordinator = coordinator
        self._api_url = api_url
        self._socket: AsyncSocketModeHandler | None = None
        self._closed = False
        self._retrying: asyncio.Task[None] | None = None
        self.bolt: AsyncApp = bolt_factory(
            on_message=self._on_message,
            on_click=self._on_click,
            on_submission=self._on_submission,
            on_assistant=self._on_assistant,
            on_command=self._on_command,
            on_home=self._on_home,
        )
        self._ack_first = AckFirst()
        self._work = Background("slack", before=self._ack_first.settled)
        endpoint = build_events_endpoint(self.bolt, signing_secret)

        async def events(request: web.Request) -> web.StreamResponse:
            if self._closed:  # shutting down: Slack retries, and another instance takes it
                return web.Response(status=503, text="shutting down")
            return await endpoint(request)

        self._endpoint = self._ack_first.wrap(events)

    def attach(self, app: web.Application) -> None:
        app.router.add_post(EVENTS_PATH, self._endpoint)
        app.on_startup.append(self._on_startup)
        app.on_shutdown.append(self._on_shutdown)

    async def start(self) -> None:
        """Open the HTTP session and learn the bot's identity (`auth.test`). Never raises: when Slack
        can't be reached the channel runs degraded (/readyz names it) and retries in the background."""
        self._api.ensure_session()
        if not await self._try_identity():
            self._retrying = asyncio.create_task(self._retry_identity())

    async def _try_identity(self) -> bool:
        try:
            await self._identity.load()
            return True
        except SlackApiError as exc:
            data = exc.response.data
            reason = data.get("error") if isinstance(data, dict) else f"HTTP {exc.response.status_code}"
            log.error("Slack auth.test failed (%s): check SLACK_BOT_TOKEN and SLACK_API_URL", reason)
        except SlackUnreachable as exc:
            log.error("Slack is unreachable (%s); the Slack channel is degraded and retries", exc)
        return False

    async def _retry_identity(self) -> None:
        delay = 1.0
        while not self._closed and not self._identity.loaded:
            await asyncio.sleep(delay)
            delay = min(delay * 2, 60.0)
            if await self._try_identity():
                log.info("Slack is reachable again; the Slack channel is ready")

    async def ready(self) -> None:
        """Readiness check for /readyz: raises when Slack's identity is unknown or coordination is down."""
        if not self._identity.loaded:
            raise RuntimeError("Slack auth.test has not succeeded yet")
        await self._coordinator.ping()

    async def start_socket_mode(self, app_token: str) -> None:
        """Receive events over Socket Mode instead of HTTP (no public URL needed; one deployment)."""
        await self.start()
        web_client = build_web_client("", self._api_url)
        web_client.session = self._api.client.session
        self._socket = AsyncSocketModeHandler(self.bolt, app_token, web_client=web_client)
        await self._socket.connect_async()

    async def drain(self, timeout_s: float = 30.0) -> None:
        """Wait for the work started by acknowledged events and clicks."""
        await self._work.drain(timeout_s)

    async def close(self, timeout_s: float = 30.0) -> None:
        """Stop Socket Mode, finish in-flight work, close the HTTP session (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self._retrying is not None:
            self._retrying.cancel()
        if self._socket is not None:
            await self._socket.close_async()
        await self.drain(timeout_s)
        self._work.cancel()
        await self._api.close()

    @property
    def in_flight(self) -> int:
        return self._work.in_flight

    def _on_message(self, msg: SlackMessage, bot_user_id: str | None) -> None:
        # Chained per conversation at arrival, so a thread's messages run in the order they came.
        self._work.spawn(self._turns.on_message(msg, bot_user_id), order_key=msg.conversation_key)

    def _on_assistant(self, thread: AssistantThread) -> None:
        self._work.spawn(self._turns.on_assistant_thread(thread))

    def _on_home(self, user: str, event_id: str) -> None:
        self._work.spawn(self._turns.on_home(user, event_id))

    def _on_command(self, cmd: Command) -> None:
        self._work.spawn(self._turns.on_command(cmd))

    def _on_click(self, click: Click) -> None:
        self._work.spawn(self._turns.on_click(click))

    def _on_submission(self, sub: Submission, key: str) -> None:
        self._work.spawn(self._turns.on_submission(sub, key))

    async def replay(self, item: InboxItem) -> None:
        """Finish an event a dead process accepted (the inbox's recovery pass calls this)."""
        if item.kind == "view":  # a submitted reason form
            sub, key = parse_submission(item.payload), submission_key(item.payload)
            if sub is not None and key is not None:
                await self._turns.on_submission(sub, key)
            return
        if item.kind == "command":  # /deskhand or the message shortcut
            cmd = parse_command(item.payload)
            if cmd is not None:
                await self._turns.on_command(cmd)
            return
        if item.kind == "click":
            click = parse_click(item.payload)
            if click is not None:
                await self._turns.on_click(click)
            return
        bot_user_id = self._identity.bot_user_id
        msg = parse_message(item.payload, bot_user_id)
        thread = parse_assistant_thread(item.payload)
        if (opened := parse_home_opened(item.payload)) is not None:
            await self._turns.on_home(*opened)
        elif thread is not None:
            await self._turns.on_assistant_thread(thread)
        elif msg is None:
            await self._turns.finish(event_key(str(item.payload.get("event_id") or "")))
        elif item.reply is not None:
            await self._turns.deliver_saved(msg, item.reply)
        else:
            await self._turns.on_message(msg, bot_user_id)

    async def _on_startup(self, _app: web.Application) -> None:
        await self.start()

    async def _on_shutdown(self, _app: web.Application) -> None:
        await self.close()


def build_slack_channel(
    handler: TurnHandler,
    *,
    bot_token: str,
    signing_secret: str,
    api_url: str,
    coordinator: Coordinator,
    bot_user_id: str | None = None,
    lock_timeout_s: float = 120.0,
    api_timeout_s: int = 15,
    lookup_timeout_s: float = 5.0,
    inbox: Inbox | None = None,
    streaming: bool = True,
) -> SlackChannel:
    """Assemble the Slack channel around a `TurnHandler` (plain values only; no settings object).
    `api_timeout_s` bounds each Web API request; `lookup_timeout_s` a user look-up, retries included.
    Without a durable `inbox`, deliveries are claimed in the coordinator only (not crash-safe). `streaming`:
    answers stream with chat.startStream/appendStream/stopStream (falling back to chat.update by itself)."""
    inbox = inbox or Inbox(store=None, coordinator=coordinator)
    client: AsyncWebClient = build_web_client(bot_token, api_url, timeout_s=api_timeout_s)
    api = SlackApi(client)
    directory = Directory(api, coordinator, lookup_timeout_s=lookup_timeout_s)
    outbox = SlackOutbox(api, directory, handler.remember_approval_message, SlackStreams(api, enabled=streaming))
    outbox.private = PrivateLists(coordinator, handler.remember_approval_message)
    runner = TurnRunner(handler, coordinator, inbox, channel="slack", lock_timeout_s=lock_timeout_s)
    turns = SlackTurns(runner, api, directory, outbox, coordinator)
    turns.home = SlackHome(api, directory, handler, runner.identify, coordinator)
    outbox.changed = turns.home.changed
    identity = BotIdentity(api, bot_token, bot_user_id)

    async def accept(key: str, body: dict[str, Any]) -> bool:
        kind = {"block_actions": "click", "view_submission": "view", "message_action": "command"}.get(
            str(body.get("type")), "command" if "command" in body else "event"
        )
        return await inbox.accept(key, "slack", kind, body)

    def bolt_factory(**callbacks: Any) -> AsyncApp:
        return build_bolt_app(
            signing_secret=signing_secret,
            api_url=api_url,
            identity=identity,
            accept=accept,
            **callbacks,
        )

    channel = SlackChannel(
        turns=turns,
        outbox=outbox,
        api=api,
        identity=identity,
        coordinator=coordinator,
        signing_secret=signing_secret,
        api_url=api_url,
        bolt_factory=bolt_factory,
    )
    inbox.replayers["slack"] = channel.replay
    return channel
