"""Outgoing Slack Web API calls: one AsyncWebClient with safe retries, and cached user look-ups."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from channels.coordination import Coordinator
from channels.slack.render import Rendered

log = logging.getLogger(__name__)

# Methods whose repetition would show the user a second message: retried only when the
# connection was never established (so Slack cannot have received the first attempt).
_POSTING = ("chat.postMessage", "chat.postEphemeral")


class _SafeConnectionRetry(AsyncRetryHandler):
    """Retry connection failures, but never re-send a post that may have reached Slack."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if error is None:
            return False
        if isinstance(error, aiohttp.ClientConnectorError):
            return True  # the request never left this process
        posting = request.url.rstrip("/").endswith(_POSTING)
        return not posting and isinstance(error, aiohttp.ClientConnectionError | asyncio.TimeoutError)


def build_web_client(token: str, api_url: str, *, timeout_s: int = 15, rate_limit_retries: int = 5) -> AsyncWebClient:
    """The Web API client: base URL configurable (an emulator in tests), 429 + Retry-After honoured."""
    base_url = api_url if api_url.endswith("/") else api_url + "/"
    return AsyncWebClient(
        token=token,
        base_url=base_url,
        timeout=timeout_s,
        retry_handlers=[
            AsyncRateLimitErrorRetryHandler(max_retry_count=rate_limit_retries),
            _SafeConnectionRetry(max_retry_count=2),
        ],
    )


class SlackApi:
    """The few Web API calls the channel makes, on one shared HTTP session."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    def ensure_session(self) -> None:
        # A shared session (made inside the running loop) instead of one per request.
        if self.client.session is None or self.client.session.closed:
            # slack_sdk applies its `timeout` only to sessions it makes itself: set it here.
            self.client.session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=200),
                timeout=aiohttp.ClientTimeout(total=self.client.timeout),
            )

    async def post(self, channel: str, message: Rendered, thread_ts: str | None = None) -> str:
        """Post once (never retried after it may have been sent); returns the message ts."""
        self.ensure_session()
        kwargs: dict[str, Any] = {"channel": channel, **message.as_kwargs(), "unfurl_links": False}
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        response = await self.client.chat_postMessage(**kwargs)
        return str(response["ts"])

    async def update(self, channel: str, ts: str, message: Rendered) -> None:
        self.ensure_session()
        await self.client.chat_update(channel=channel, ts=ts, **message.as_kwargs())

    async def ephemeral(self, channel: str, user: str, message: Rendered, thread_ts: str | None = None) -> None:
        self.ensure_session()
        kwargs: dict[str, Any] = {"channel": channel, "user": user, **message.as_kwargs()}
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        await self.client.chat_postEphemeral(**kwargs)

    async def open_dm(self, user: str) -> str:
        self.ensure_session()
        response = await self.client.conversations_open(users=user)
        return str(response["channel"]["id"])

    async def react(self, channel: str, ts: str, name: str) -> None:
        self.ensure_session()
        try:
            await self.client.reactions_add(channel=channel, timestamp=ts, name=name)
        except SlackApiError as exc:
            if exc.response.get("error") != "already_reacted":
                raise

    async def permalink(self, channel: str, ts: str) -> str:
        """`chat.getPermalink`: the link to a message (the thread root for a thread)."""
        self.ensure_session()
        response = await self.client.chat_getPermalink(channel=channel, message_ts=ts)
        return str(response["permalink"])

    async def auth_test(self) -> dict[str, Any]:
        self.ensure_session()
        response = await self.client.auth_test()
        return dict(response.data) if isinstance(response.data, dict) else {}

    async def close(self) -> None:
        if self.client.session is not None and not self.client.session.closed:
            await self.client.session.close()


class Directory:
    """Slack user id ⇄ e-mail, cached in-process (and across processes through the coordinator)."""

    def __init__(self, api: SlackApi, coordinator: Coordinator, *, ttl_s: int = 3600, miss_ttl_s: int = 300) -> None:
        self._api = api
        self._coordinator = coordinator
        self._ttl = ttl_s
        self._miss_ttl = miss_ttl_s
        self._cache: dict[str, tuple[str, float]] = {}
        self._inflight: dict[str, asyncio.Future[str]] = {}

    async def email_of(self, user_id: str) -> str | None:
        """The user's e-mail from `users.info` (None for bots, deleted users or failures)."""

        async def fetch() -> str:
            response = await self._api.client.users_info(user=user_id)
            user = response.get("user") or {}
            if user.get("is_bot") or user.get("deleted"):
                return ""
            return str((user.get("profile") or {}).get("email") or "").lower()

        return await self._cached(f"slack:email:{user_id}", fetch) or None

    async def user_id_of(self, email: str) -> str | None:
        """The Slack id for an e-mail from `users.lookupByEmail`, None when not in the workspace."""

        async def fetch() -> str:
            response = await self._api.client.users_lookupByEmail(email=email)
            return str((response.get("user") or {}).get("id") or "")

        return await self._cached(f"slack:uid:{email.lower()}", fetch) or None

    async def mentions(self, emails: Iterable[str]) -> dict[str, str]:
        """e-mail → Slack id for every e-mail that resolves (for `<@U…>` mentions)."""
        unique = sorted({e.lower() for e in emails if e})
        ids = await asyncio.gather(*(self.user_id_of(e) for e in unique))
        return {email: uid for email, uid in zip(unique, ids, strict=True) if uid}

    async def _cached(self, key: str, fetch: Callable[[], Awaitable[str]]) -> str:
        hit = self._cache.get(key)
        if hit and hit[1] > time.monotonic():
            return hit[0]
        pending = self._inflight.get(key)
        if pending is not None:  # one look-up per key, however many events arrive at once
            return await asyncio.shield(pending)
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            value = await self._load(key, fetch)
            future.set_result(value)
            return value
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved when nobody else is waiting
            raise
        finally:
            del self._inflight[key]

    async def _load(self, key: str, fetch: Callable[[], Awaitable[str]]) -> str:
        shared = await self._coordinator.recall(key)
        if shared is not None:
            self._remember_local(key, shared)
            return shared
        self._api.ensure_session()
        try:
            value = await fetch()
        except SlackApiError as exc:
            if exc.response.get("error") not in ("users_not_found", "user_not_found"):
                log.warning("Slack look-up %s failed: %s", key, exc.response.get("error"))
                return ""  # not cached: a transient failure should not stick
            value = ""
        self._remember_local(key, value)
        await self._coordinator.remember(key, value, self._ttl if value else self._miss_ttl)
        return value

    def _remember_local(self, key: str, value: str) -> None:
        ttl = self._ttl if value else self._miss_ttl
        self._cache[key] = (value, time.monotonic() + ttl)
