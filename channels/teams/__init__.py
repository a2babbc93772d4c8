"""Microsoft Teams channel: the Bot Framework endpoint (`POST /api/messages`) and the Teams outbox.

botbuilder is imported only under `channels/teams`; the rest of Deskhand sees `build_teams_channel`,
`TeamsChannel.attach` and `TeamsChannel.outbox`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from aiohttp import web
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from botbuilder.schema import Activity, ActivityTypes, DeliveryModes
from botframework.connector.auth import (
    AuthenticateRequestResult,
    AuthenticationConstants,
    BotFrameworkAuthentication,
)

from channels.base import TurnHandler
from channels.coordination import Coordinator
from channels.inbox import Inbox
from channels.teams.courier import Courier
from channels.teams.handler import DeskhandTeamsBot, new_reference_id, on_turn_error
from channels.teams.keys import KeysUnavailable, OffLoopAuthenticator
from channels.teams.memory import TeamsMemory
from channels.teams.outbox import TeamsOutbox
from channels.teams.transport import ConnectorTransport, PooledAuthentication

__all__ = ["BotFrameworkConfig", "TeamsChannel", "TeamsConfigError", "build_teams_channel"]

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


class TeamsChannel:
    """The `/api/messages` endpoint plus the outbox. Messages are acknowledged once authenticated and
    handled in the background (a slow answer never makes Teams redeliver); card actions are answered
    inline because Teams shows the card the bot returns."""

    def __init__(
        self,
        adapter: CloudAdapter,
        authentication: BotFrameworkAuthentication,
        bot: DeskhandTeamsBot,
        outbox: TeamsOutbox,
        transport: ConnectorTransport,
        *,
        insecure_no_auth: bool,
    ) -> None:
        self.adapter = adapter
        self.outbox = outbox
        self._auth = authentication
        self._transport = transport
        self._bot = bot
        self._loopback_only = insecure_no_auth
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(MAX_CONCURRENT_TURNS)
        self.keys_to_fetch: tuple[str, ...] = ()
        self.off_loop: OffLoopAuthenticator | None = None

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
        activity = await _read_activity(request)
        if self._loopback_only and not _is_loopback(activity.service_url):
            # Without authentication anyone can post here; never let them aim the bot at other hosts.
            log.warning("unauthenticated mode: refused a non-local serviceUrl")
            return _error(403, "unauthenticated mode only talks to a local serviceUrl")
        try:
            auth = await self._auth.authenticate_request(activity, request.headers.get("Authorization", ""))
        except (KeysUnavailable, requests.RequestException):
            log.warning("cannot fetch the Bot Framework signing keys; asking the sender to retry")
            return _error(503, "token validation unavailable")
        except Exception as exc:
            log.warning("rejected a Bot Framework request: %s", type(exc).__name__)
            return _error(401, "unauthorized")
        if activity.type == ActivityTypes.invoke or activity.delivery_mode == DeliveryModes.expect_replies:
            response = await self.adapter.process_activity(auth, activity, self._bot.on_turn)
            if response is None:
                return web.Response(status=200)
            return web.json_response(response.body, status=response.status)
        task = asyncio.create_task(self._process(auth, activity))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return web.Response(status=202)

    async def _process(self, auth: AuthenticateRequestResult, activity: Activity) -> None:
        try:
            async with self._slots:
                await self.adapter.process_activity(auth, activity, self._bot.on_turn)
        except Exception as exc:  # on_turn_error already handles turn failures; this is the connector
            log.error("Teams activity %s failed (ref %s)", activity.id, new_reference_id(), exc_info=exc)

    async def drain(self, timeout_s: float = _DRAIN_S) -> None:
        """Wait for the messages being handled in the background (at shutdown; in tests)."""
        while self._tasks:
            _done, pending = await asyncio.wait(list(self._tasks), timeout=timeout_s)
            if pending:
                log.warning("%d Teams turns still running at shutdown", len(pending))
                return

    async def _drain(self, _app: web.Application) -> None:
        await self.drain()

    async def _close(self, _app: web.Application) -> None:
        if self.off_loop is not None:
            await self.off_loop.close()
        await self._transport.close()


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
) -> TeamsChannel:
    """Build the Teams channel. Without an app id, incoming requests cannot be authenticated, so that
    needs `insecure_no_auth=True` (local testing with the Bot Framework Emulator only)."""
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
    config = BotFrameworkConfig(
        APP_ID=app_id,
        APP_PASSWORD=app_password,
        APP_TENANTID=tenant_id,
        APP_TYPE=app_type,
        TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL=openid_metadata_url,
        TO_BOT_FROM_CHANNEL_TOKEN_ISSUER=token_issuer,
    )
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
    memory = TeamsMemory(coordinator)
    courier = Courier(handler, memory, app_id=app_id)
    bot = DeskhandTeamsBot(handler, coordinator, courier, inbox)
    outbox = TeamsOutbox(adapter, courier, app_id=app_id, memory=memory)
    channel = TeamsChannel(adapter, authentication, bot, outbox, transport, insecure_no_auth=not app_id)
    channel.keys_to_fetch = keys_to_fetch
    channel.off_loop = off_loop
    return channel


async def _read_activity(request: web.Request) -> Activity:
    """The posted activity, or a 4xx: wrong content type 415, unreadable or incomplete JSON 400."""
    if request.content_type != "application/json":
        raise _http_error(web.HTTPUnsupportedMediaType, "expected application/json")
    raw = await request.read()
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested deeper than the parser goes
        raise _http_error(web.HTTPBadRequest, "body is not JSON") from None
    if not isinstance(body, dict):
        raise _http_error(web.HTTPBadRequest, "expected an activity object")
    missing = [name for name in ("type", "serviceUrl") if not isinstance(body.get(name), str) or not body[name]]
    for holder in ("conversation", "from", "recipient"):
        part = body.get(holder)
        if not isinstance(part, dict) or not isinstance(part.get("id"), str) or not part["id"]:
            missing.append(f"{holder}.id")
    if missing:
        raise _http_error(web.HTTPBadRequest, "missing or invalid: " + ", ".join(missing))
    try:
        service = urlsplit(body["serviceUrl"])
        valid_url = service.scheme in ("http", "https") and bool(service.hostname)
    except ValueError:
        valid_url = False
    if not valid_url:
        raise _http_error(web.HTTPBadRequest, "serviceUrl must be an http(s) URL")
    try:
        activity = Activity().deserialize(body)
    except Exception:  # msrest raises several types for ill-typed fields
        raise _http_error(web.HTTPBadRequest, "malformed activity") from None
    if not isinstance(activity, Activity):
        raise _http_error(web.HTTPBadRequest, "malformed activity")
    return activity


def _is_loopback(url: str | None) -> bool:
    host = urlsplit(url or "").hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _http_error(kind: type[web.HTTPException], message: str) -> web.HTTPException:
    return kind(text=json.dumps({"error": message}), content_type="application/json")
