"""The Teams channel object the composition root wires: the Bot Framework endpoint (`POST /api/messages`),
the durable inbox claim before the ack, background turns, recovery, and the outbox."""

from __future__ import annotations

import logging
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

import requests
from aiohttp import web
from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from botbuilder.schema import Activity, ActivityTypes, DeliveryModes
from botframework.connector.auth import AuthenticationConstants, BotFrameworkAuthentication

from channels.base import TurnHandler
from channels.coordination import Coordinator
from channels.core.tasks import Background
from channels.core.turns import TurnRunner
from channels.inbox import Inbox, InboxItem, InboxUnavailable
from channels.teams.activities import CHANNEL, activity_key, is_loopback, parse_body, to_activity
from channels.teams.courier import Courier
from channels.teams.handler import DeskhandTeamsBot, on_turn_error
from channels.teams.keys import KeysUnavailable, OffLoopAuthenticator
from channels.teams.memory import TeamsMemory
from channels.teams.outbox import TeamsOutbox
from channels.teams.transport import ConnectorTransport, PooledAuthentication

log = logging.getLogger(__name__)

MESSAGES_PATH = "/api/messages"
APP_TYPES = ("MultiTenant", "SingleTenant", "UserAssignedMSI")
_DRAIN_S = 15.0
MAX_CONCURRENT_TURNS = 32  # beyond this, acknowledged messages wait their turn (bounded load on Redis)


class TeamsConfigError(Exception):
    """The Teams channel cannot start with this configuration; the message says what to set."""


@dataclass(frozen=True)
class BotFrameworkConfig:
    """The attributes botbuilder's `ConfigurationBotFrameworkAuthentication` reads."""

    APP_ID: str | None
    APP_PASSWORD: str | None
    APP_TENANTID: str | None
    APP_TYPE: str
    # Set only for sovereign clouds (and tests): where the signing keys are and who issues tokens.
    TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL: str | None = None
    TO_BOT_FROM_CHANNEL_TOKEN_ISSUER: str | None = None


@dataclass(eq=False)
class TeamsChannel:
    """The `/api/messages` endpoint plus the outbox. A message is recorded in the inbox once authenticated
    and before its ack, then handled in the background (a slow answer never makes Teams redeliver; a
    process that dies leaves it to recovery); card actions are answered inline because Teams shows the
    card the bot returns."""

    adapter: CloudAdapter
    authentication: BotFrameworkAuthentication
    bot: DeskhandTeamsBot
    outbox: TeamsOutbox
    transport: ConnectorTransport
    _: KW_ONLY
    insecure_no_auth: bool  # then only a local serviceUrl is accepted
    app_id: str | None = None
    keys_to_fetch: tuple[str, ...] = ()
    off_loop: OffLoopAuthenticator | None = None
    _work: Background = field(init=False, default_factory=lambda: Background(CHANNEL, limit=MAX_CONCURRENT_TURNS))

    def attach(self, app: web.Application) -> None:
        app.router.add_post(MESSAGES_PATH, self.handle_request)
        app.on_startup.append(self._start)
        app.on_shutdown.append(self._drain)
        app.on_cleanup.append(self._close)

    async def _start(self, _app: web.Application) -> None:
        if self.off_loop is not None:
            self.off_loop.start_prefetch(self.keys_to_fetch)

    async def ready(self) -> None:
        """Readiness for /readyz: raises while the Bot Framework signing keys can't be fetched."""
        if self.off_loop is not None and not self.off_loop.healthy:
            raise RuntimeError("Bot Framework signing keys unavailable")

    async def handle_request(self, request: web.Request) -> web.StreamResponse:
        body = parse_body(await request.read(), request.content_type)
        activity = to_activity(body)
        if self.insecure_no_auth and not is_loopback(activity.service_url):
            # Without authentication anyone can post here; never let them aim the bot at other hosts.
            log.warning("unauthenticated mode: refused a non-local serviceUrl")
            return _error(403, "unauthenticated mode only talks to a local serviceUrl")
        try:
            auth = await self.authentication.authenticate_request(activity, request.headers.get("Authorization", ""))
        except (KeysUnavailable, requests.RequestException):
            log.warning("cannot fetch the Bot Framework signing keys; asking the sender to retry")
            return _error(503, "token validation unavailable")
        except Exception as exc:
            log.warning("rejected a Bot Framework request: %s", type(exc).__name__)
            return _error(401, "unauthorized")
        # Exactly once: Teams redelivers when our answer is slow or lost. The inbox marks an activity done
        # only after its turn finished, so a redelivery of one whose process died is taken over.
        once = bool(activity.id) and activity.type in (ActivityTypes.message, ActivityTypes.invoke)
        if once and not await self._accept(activity, body):
            log.info("Teams redelivered activity %s; ignored", activity.id)
            if activity.type == ActivityTypes.invoke:
                return web.json_response(await self.bot.duplicate_invoke_body(activity))
            return web.Response(status=202)
        if activity.type == ActivityTypes.invoke or activity.delivery_mode == DeliveryModes.expect_replies:
            try:
                response = await self.adapter.process_activity(auth, activity, self.bot.on_turn)
            finally:
                if once and activity.type == ActivityTypes.invoke:
                    await self.bot.runner.inbox.complete(activity_key(activity))
            if response is None:
                return web.Response(status=200)
            return web.json_response(response.body, status=response.status)
        self._work.spawn(self.adapter.process_activity(auth, activity, self.bot.on_turn))
        return web.Response(status=202)

    async def _accept(self, activity: Activity, body: dict[str, Any]) -> bool:
        """Record the delivery (the whole activity for a message, so recovery can replay it)."""
        kind = str(activity.type)
        payload = body if activity.type == ActivityTypes.message else {"id": activity.id}
        try:
            return await self.bot.runner.inbox.accept(activity_key(activity), CHANNEL, kind, payload)
        except InboxUnavailable:
            log.warning("cannot record Teams activity %s; handling it without a durable record", activity.id)
            return True

    async def replay(self, item: InboxItem) -> None:
        """Finish a message a dead process accepted (the inbox's recovery pass calls this): deliver its
        saved answer, or run its turn again. A card action was answered (or failed) inline: done."""
        if item.kind != ActivityTypes.message:
            await self.bot.runner.inbox.complete(item.key)
            return
        activity = Activity().deserialize(item.payload)
        reference = TurnContext.get_conversation_reference(activity)

        async def resume(ctx: TurnContext) -> None:
            ctx.activity = activity  # the turn as it arrived, answered in its own conversation
            if item.reply is not None:
                await self.bot.deliver_saved(ctx, item.reply)
            else:
                await self.bot.on_turn(ctx)

        await self.adapter.continue_conversation(reference, resume, bot_app_id=self.app_id)  # type: ignore[arg-type]

    @property
    def in_flight(self) -> int:
        return self._work.in_flight

    async def drain(self, timeout_s: float = _DRAIN_S) -> None:
        """Wait for the messages being handled in the background (at shutdown; in tests)."""
        await self._work.drain(timeout_s)

    async def close(self, timeout_s: float = _DRAIN_S) -> None:
        """Finish in-flight turns for up to `timeout_s`, abandon the rest (recovery finishes them), then close
        the HTTP session and the key-check threads (a channel used without a web app: the worker's outbox)."""
        await self.drain(timeout_s)
        self._work.cancel()
        await self._release()

    async def _drain(self, _app: web.Application) -> None:
        await self.drain()

    async def _close(self, _app: web.Application) -> None:
        await self._release()

    async def _release(self) -> None:
        if self.off_loop is not None:
            await self.off_loop.close()
        await self.transport.close()


def build_teams_channel(
    handler: TurnHandler,
    *,
    app_id: str | None,
    app_password: str | None,
    tenant_id: str | None,
    app_type: str,
    insecure_no_auth: bool,
    coordinator: Coordinator,
    openid_metadata_url: str | None = None,
    token_issuer: str | None = None,
    auth_timeout_s: float = 5.0,
    inbox: Inbox | None = None,
    lock_timeout_s: float = 120.0,
) -> TeamsChannel:
    """Build the Teams channel. Without an app id, incoming requests cannot be authenticated, so that
    needs `insecure_no_auth=True` (local testing with the Bot Framework Emulator only). Without a durable
    `inbox`, deliveries are claimed in the coordinator only (not crash-safe)."""
    if app_type not in APP_TYPES:
        raise TeamsConfigError(f"Teams app type must be one of {', '.join(APP_TYPES)}")
    if not app_id and not insecure_no_auth:
        raise TeamsConfigError(
            "Teams needs the bot's Microsoft app id and password (MICROSOFT_APP_ID, "
            "MICROSOFT_APP_PASSWORD) to authenticate Bot Framework requests. For local testing with "
            "the Bot Framework Emulator only, set DESKHAND_TEAMS_INSECURE_NO_AUTH=true."
        )
    if app_id and app_type != "UserAssignedMSI" and not app_password:
        raise TeamsConfigError("MICROSOFT_APP_PASSWORD is required with MICROSOFT_APP_ID")
    if app_id and app_type != "MultiTenant" and not tenant_id:
        raise TeamsConfigError(f"MICROSOFT_APP_TENANT_ID is required for a {app_type} bot")
    if app_id and insecure_no_auth:
        log.warning("an app id is configured: requests are authenticated despite the insecure opt-in")
    if not app_id:
        log.warning("Teams endpoint WITHOUT authentication (insecure opt-in): local use only")
    # botbuilder's models warn about every Teams-specific field they do not model; that is not news.
    logging.getLogger("msrest.serialization").setLevel(logging.ERROR)
    config = BotFrameworkConfig(app_id, app_password, tenant_id, app_type, openid_metadata_url, token_issuer)
    transport = ConnectorTransport()
    off_loop = OffLoopAuthenticator(timeout_s=auth_timeout_s)
    authentication = PooledAuthentication(ConfigurationBotFrameworkAuthentication(config), transport, off_loop)
    if app_id:
        metadata = openid_metadata_url or AuthenticationConstants.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL
        keys_to_fetch: tuple[str, ...] = (metadata,)
    else:
        keys_to_fetch = ()
    adapter = CloudAdapter(authentication)
    adapter.on_turn_error = on_turn_error  # type: ignore[method-assign]
    inbox = inbox or Inbox(store=None, coordinator=coordinator)
    memory = TeamsMemory(coordinator)
    courier = Courier(handler, memory, app_id=app_id)
    runner = TurnRunner(handler, coordinator, inbox, channel=CHANNEL, lock_timeout_s=lock_timeout_s)
    bot = DeskhandTeamsBot(runner, coordinator, courier, memory)
    outbox = TeamsOutbox(adapter, courier, app_id=app_id, memory=memory)
    channel = TeamsChannel(adapter, authentication, bot, outbox, transport, insecure_no_auth=not app_id, app_id=app_id)
    channel.keys_to_fetch = keys_to_fetch
    channel.off_loop = off_loop
    inbox.replayers[CHANNEL] = channel.replay
    return channel


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)
