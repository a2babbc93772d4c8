"""HTTP to the Bot Connector over one shared aiohttp session, with cached clients and tokens fetched off-loop.

botbuilder's default builds a `requests`-based client per turn (~20 ms of CPU in msrest) and runs it in the
event loop's small thread pool, which under bursts starves everything else needing a thread (such as DNS
look-ups for new Redis connections). Tokens are still obtained by botbuilder's credentials.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from botbuilder.schema import Activity
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import (
    AuthenticateRequestResult,
    AuthenticationConstants,
    BotFrameworkAuthentication,
    ClaimsIdentity,
    ConnectorFactory,
    UserTokenClient,
)
from msrest.pipeline import AsyncHTTPPolicy, AsyncPipeline
from msrest.pipeline.aiohttp import AioHTTPSender
from msrest.pipeline.universal import RawDeserializer
from msrest.universal_http import ClientRequest
from msrest.universal_http.aiohttp import AioHttpClientResponse
from msrest.universal_http.aiohttp import AioHTTPSender as AioHTTPDriver
from msrest.universal_http.async_abc import AsyncClientResponse

from channels.teams.keys import OffLoopAuthenticator

REQUEST_TIMEOUT_S = 30.0
MAX_CLIENTS = 64  # one per (bot, Bot Connector region, audience): a handful in practice

ClientKey = tuple[str | None, str, str | None]


class ConnectorTransport:
    """Owns the aiohttp session every Bot Connector client of this channel uses, and the clients.

    botbuilder builds a new client per turn, and each construction costs ~20 ms of CPU in msrest (a
    retry-policy table); a client holds nothing per turn, so one per service URL serves every turn."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None
        self._clients: dict[ClientKey, ConnectorClient] = {}
        self._token_clients: dict[str | None, UserTokenClient] = {}

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S),
                connector=aiohttp.TCPConnector(limit=100, ttl_dns_cache=300),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def client(self, key: ClientKey, inner: ConnectorFactory) -> ConnectorClient:
        client = self._clients.get(key)
        if client is None:
            client = self.adopt(await inner.create(key[1], key[2]))
            if len(self._clients) >= MAX_CLIENTS:
                self._clients.pop(next(iter(self._clients)))
            self._clients[key] = client
        return client

    async def token_client(self, app_id: str | None, make: Callable[[], Awaitable[UserTokenClient]]) -> UserTokenClient:
        if app_id not in self._token_clients:
            self._token_clients[app_id] = await make()
        return self._token_clients[app_id]

    def adopt(self, client: ConnectorClient) -> ConnectorClient:
        """Route `client`'s requests through the shared session (same policies, same credentials)."""
        config = client.config
        policies = [config.user_agent_policy, _BearerToken(config.credentials), RawDeserializer()]
        config.pipeline = AsyncPipeline([*policies, config.http_logger_policy], AioHTTPSender(_SessionSender(self)))
        return client


class _SessionSender(AioHTTPDriver):  # type: ignore[misc]
    """msrest's aiohttp driver, minus its own session (and sending the headers and body it forgets)."""

    def __init__(self, transport: ConnectorTransport) -> None:  # no super(): it would open a session
        self._transport = transport

    async def send(self, request: ClientRequest, **config: Any) -> AsyncClientResponse:
        response = await self._transport.session().request(
            request.method, request.url, headers=request.headers, data=request.data
        )
        result = AioHttpClientResponse(request, response)
        await result.load_body()
        return result

    async def __aenter__(self) -> _SessionSender:
        return self

    async def __aexit__(self, *exc_details: object) -> None:
        return None  # the transport owns the session


class _BearerToken(AsyncHTTPPolicy):  # type: ignore[misc]
    """The bot's token on every request when it has an app id (none in unauthenticated mode)."""

    def __init__(self, credentials: Any) -> None:
        super().__init__()
        self._credentials = credentials

    async def send(self, request: Any, **kwargs: Any) -> Any:
        app_id = getattr(self._credentials, "microsoft_app_id", None)
        if app_id and app_id != AuthenticationConstants.ANONYMOUS_SKILL_APP_ID:
            # msal answers from its cache; a refresh is a blocking HTTPS call, so never on the loop
            token = await asyncio.to_thread(self._credentials.get_access_token)
            request.http_request.headers["Authorization"] = f"Bearer {token}"
        assert self.next is not None  # a policy always has a next step in a pipeline
        return await self.next.send(request, **kwargs)


class _PooledConnectorFactory(ConnectorFactory):  # type: ignore[misc]
    def __init__(self, inner: ConnectorFactory, transport: ConnectorTransport, app_id: str | None) -> None:
        self._inner = inner
        self._transport = transport
        self._app_id = app_id

    async def create(self, service_url: str, audience: str | None = None) -> ConnectorClient:
        return await self._transport.client((self._app_id, service_url, audience), self._inner)


def _app_id(claims_identity: ClaimsIdentity | None) -> str | None:
    """The bot's app id the way botbuilder reads it from the claims (audience, else appid)."""
    if claims_identity is None:
        return None
    value = claims_identity.get_claim_value(AuthenticationConstants.AUDIENCE_CLAIM)
    if value is None:
        value = claims_identity.get_claim_value(AuthenticationConstants.APP_ID_CLAIM)
    return str(value) if value else None


class PooledAuthentication(BotFrameworkAuthentication):  # type: ignore[misc]
    """botbuilder's authentication, unchanged, except that the connector clients it hands out use the
    shared transport."""

    def __init__(
        self,
        inner: BotFrameworkAuthentication,
        transport: ConnectorTransport,
        off_loop: OffLoopAuthenticator | None = None,
    ) -> None:
        self._inner = inner
        self._transport = transport
        self.off_loop = off_loop or OffLoopAuthenticator()

    async def authenticate_request(self, activity: Activity, auth_header: str) -> AuthenticateRequestResult:
        """Validated on a thread with a time-out (see `channels.teams.keys`); `KeysUnavailable` when the
        signing keys can't be had now."""
        result = await self.off_loop.run(lambda: self._inner.authenticate_request(activity, auth_header))
        if result.connector_factory is not None:
            app_id = _app_id(result.claims_identity)
            result.connector_factory = _PooledConnectorFactory(result.connector_factory, self._transport, app_id)
        return result

    async def authenticate_streaming_request(
        self, auth_header: str, channel_id_header: str
    ) -> AuthenticateRequestResult:
        return await self._inner.authenticate_streaming_request(auth_header, channel_id_header)

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> ConnectorFactory:
        inner = self._inner.create_connector_factory(claims_identity)
        return _PooledConnectorFactory(inner, self._transport, _app_id(claims_identity))

    async def create_user_token_client(self, claims_identity: ClaimsIdentity) -> UserTokenClient:
        # botbuilder makes one per turn (for OAuth prompts, which Deskhand doesn't use): share it
        return await self._transport.token_client(
            _app_id(claims_identity), lambda: self._inner.create_user_token_client(claims_identity)
        )

    def create_bot_framework_client(self) -> Any:
        return self._inner.create_bot_framework_client()

    def get_originating_audience(self) -> str:
        return str(self._inner.get_originating_audience())

    async def authenticate_channel_request(self, auth_header: str) -> ClaimsIdentity:
        return await self._inner.authenticate_channel_request(auth_header)
