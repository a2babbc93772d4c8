"""Outgoing Slack Web API calls: one AsyncWebClient with safe retries, typed failures, and cached user look-ups."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
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


# Slack's answers for "this user does not exist": a miss to cache, not a failure.
_NOT_FOUND = frozenset({"users_not_found", "user_not_found"})


class WebApiError(Exception):
    """A Web API call failed: Slack's error code, an HTTP error, an unreadable body or a time-out.

    `reason` is Slack's `error` code when Slack answered one, else `http_<status>`, `unreadable_response`,
    `timeout` or `connection_failed`; `request_id` is Slack's `X-Slack-Req-Id` when there was a response.
    Never shown to users (log it with a reference id)."""

    def __init__(self, method: str, reason: str, *, status: int | None = None, request_id: str | None = None) -> None:
        super().__init__(f"{method} failed: {reason}" + (f" (Slack request id {request_id})" if request_id else ""))
        self.method = method
        self.reason = reason
        self.status = status
        self.request_id = request_id


def _request_id(headers: Any) -> str | None:
    try:
        value = headers.get("x-slack-req-id") if headers is not None else None
    except AttributeError:
        return None
    return str(value) if value else None


def _describe(method: str, exc: BaseException) -> WebApiError:
    """Any failure of a Web API call as a `WebApiError` (the error's `response` may be a SlackResponse
    whose data is a dict, a str or empty, or a raw aiohttp response when the JSON was broken)."""
    if isinstance(exc, SlackApiError):
        response = exc.response
        status = getattr(response, "status_code", None) or getattr(response, "status", None)
        data = getattr(response, "data", None)
        error = data.get("error") if isinstance(data, dict) else None
        if error:
            reason = str(error)
        elif isinstance(status, int) and status != 200:
            reason = f"http_{status}"
        else:
            reason = "unreadable_response"
        return WebApiError(
            method,
            reason,
            status=status if isinstance(status, int) else None,
            request_id=_request_id(getattr(response, "headers", None)),
        )
    if isinstance(exc, TimeoutError):
        return WebApiError(method, "timeout")
    if isinstance(exc, aiohttp.ClientError):
        return WebApiError(method, "connection_failed")
    return WebApiError(method, "unreadable_response")


class _SafeConnectionRetry(AsyncRetryHandler):
    """Retry connection failures, server errors and unreadable answers, but never re-send a post that
    may have reached Slack (every other method the channel calls is safe to repeat)."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        posting = request.url.rstrip("/").endswith(_POSTING)
        if error is None:  # a 5xx (often a proxy's HTML page) on a call that is safe to repeat
            return not posting and response is not None and response.status_code >= 500
        if isinstance(error, aiohttp.ClientConnectorError):
            return True  # the request never left this process
        # SlackApiError here means an unreadable body (broken JSON) on an answered request
        return not posting and isinstance(error, aiohttp.ClientConnectionError | asyncio.TimeoutError | SlackApiError)


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

    async def call(self, method: str, send: Callable[..., Awaitable[Any]], **kwargs: Any) -> dict[str, Any]:
        """One Web API call through `send` (a bound client method); its answer's data, or `WebApiError`.

        A proxy in front of Slack may answer HTML, plain text or broken JSON, and slack_sdk then raises
        SlackApiError with a non-dict response, or AttributeError/TypeError/ValueError while validating a
        str body: every one of them becomes a WebApiError, so callers handle a single type."""
        self.ensure_session()
        try:
            response = await send(**kwargs)
        except asyncio.CancelledError:
            raise
        except (SlackClientError, aiohttp.ClientError, TimeoutError, AttributeError, TypeError, ValueError) as exc:
            raise _describe(method, exc) from exc
        data = getattr(response, "data", None)
        if not isinstance(data, dict):
            raise WebApiError(method, "unreadable_response", request_id=_request_id(getattr(response, "headers", None)))
        return data

    async def post(self, channel: str, message: Rendered, thread_ts: str | None = None) -> str:
        """Post once (never retried after it may have been sent); returns the message ts."""
        kwargs: dict[str, Any] = {"channel": channel, **message.as_kwargs(), "unfurl_links": False}
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        data = await self.call("chat.postMessage", self.client.chat_postMessage, **kwargs)
        if not data.get("ts"):
            raise WebApiError("chat.postMessage", "unreadable_response")
        return str(data["ts"])

    async def update(self, channel: str, ts: str, message: Rendered) -> None:
        await self.call("chat.update", self.client.chat_update, channel=channel, ts=ts, **message.as_kwargs())

    async def ephemeral(self, channel: str, user: str, message: Rendered, thread_ts: str | None = None) -> None:
        kwargs: dict[str, Any] = {"channel": channel, "user": user, **message.as_kwargs()}
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        await self.call("chat.postEphemeral", self.client.chat_postEphemeral, **kwargs)

    async def open_view(self, trigger_id: str, view: dict[str, Any]) -> None:
        """`views.open`: show a modal to the user whose click carried `trigger_id` (valid for 3 s)."""
        await self.call("views.open", self.client.views_open, trigger_id=trigger_id, view=view)

    async def publish_home(self, user_id: str, view: dict[str, Any]) -> None:
        """`views.publish`: `user_id`'s App Home tab."""
        await self.call("views.publish", self.client.views_publish, user_id=user_id, view=view)

    async def open_dm(self, user: str) -> str:
        data = await self.call("conversations.open", self.client.conversations_open, users=user)
        channel = data.get("channel")
        if not isinstance(channel, dict) or not channel.get("id"):
            raise WebApiError("conversations.open", "unreadable_response")
        return str(channel["id"])

    async def react(self, channel: str, ts: str, name: str) -> None:
        try:
            await self.call("reactions.add", self.client.reactions_add, channel=channel, timestamp=ts, name=name)
        except WebApiError as exc:
            if exc.reason != "already_reacted":
                raise

    async def permalink(self, channel: str, ts: str) -> str:
        """`chat.getPermalink`: the link to a message (the thread root for a thread)."""
        data = await self.call("chat.getPermalink", self.client.chat_getPermalink, channel=channel, message_ts=ts)
        if not data.get("permalink"):
            raise WebApiError("chat.getPermalink", "unreadable_response")
        return str(data["permalink"])

    async def set_status(self, channel: str, thread_ts: str, status: str) -> None:
        """`assistant.threads.setStatus`: the "is thinking…" line under an AI-app thread ("" clears it)."""
        await self.call(
            "assistant.threads.setStatus",
            self.client.assistant_threads_setStatus,
            channel_id=channel,
            thread_ts=thread_ts,
            status=status,
        )

    async def set_suggested_prompts(
        self, channel: str, thread_ts: str, title: str, prompts: list[dict[str, str]]
    ) -> None:
        """`assistant.threads.setSuggestedPrompts`: prompts (`title`, `message`) offered in an AI-app thread."""
        await self.call(
            "assistant.threads.setSuggestedPrompts",
            self.client.assistant_threads_setSuggestedPrompts,
            channel_id=channel,
            thread_ts=thread_ts,
            title=title,
            prompts=prompts,
        )

    async def set_title(self, channel: str, thread_ts: str, title: str) -> None:
        """`assistant.threads.setTitle`: the thread's name in the AI-app history."""
        await self.call(
            "assistant.threads.setTitle",
            self.client.assistant_threads_setTitle,
            channel_id=channel,
            thread_ts=thread_ts,
            title=title,
        )

    async def users_info(self, user: str) -> dict[str, Any]:
        return await self.call("users.info", self.client.users_info, user=user)

    async def lookup_by_email(self, email: str) -> dict[str, Any]:
        return await self.call("users.lookupByEmail", self.client.users_lookupByEmail, email=email)

    async def auth_test(self) -> dict[str, Any]:
        self.ensure_session()
        response = await self.client.auth_test()
        return dict(response.data) if isinstance(response.data, dict) else {}

    async def close(self) -> None:
        if self.client.session is not None and not self.client.session.closed:
            await self.client.session.close()


class Directory:
    """Slack user id ⇄ e-mail, cached in-process (and across processes through the coordinator)."""

    def __init__(
        self,
        api: SlackApi,
        coordinator: Coordinator,
        *,
        ttl_s: int = 3600,
        miss_ttl_s: int = 300,
        lookup_timeout_s: float = 5.0,
    ) -> None:
        self._api = api
        self._lookup_timeout = lookup_timeout_s  # the whole look-up, retries included
        self._coordinator = coordinator
        self._ttl = ttl_s
        self._miss_ttl = miss_ttl_s
        self._cache: dict[str, tuple[str, float]] = {}
        self._inflight: dict[str, asyncio.Future[str]] = {}

    async def email_of(self, user_id: str) -> str | None:
        """The user's e-mail from `users.info` (None for bots and deleted users); `WebApiError` when
        Slack cannot be asked (not cached: the next event asks again)."""

        async def fetch() -> str:
            user = (await self._api.users_info(user_id)).get("user")
            if not isinstance(user, dict) or user.get("is_bot") or user.get("deleted"):
                return ""
            profile = user.get("profile")
            return str((profile if isinstance(profile, dict) else {}).get("email") or "").lower()

        return await self._cached(f"slack:email:{user_id}", "users.info", fetch) or None

    async def user_id_of(self, email: str) -> str | None:
        """The Slack id for an e-mail from `users.lookupByEmail`, None when not in the workspace;
        `WebApiError` when Slack cannot be asked."""

        async def fetch() -> str:
            user = (await self._api.lookup_by_email(email)).get("user")
            return str((user if isinstance(user, dict) else {}).get("id") or "")

        return await self._cached(f"slack:uid:{email.lower()}", "users.lookupByEmail", fetch) or None

    async def mentions(self, emails: Iterable[str]) -> dict[str, str]:
        """e-mail → Slack id for every e-mail that resolves (for `<@U…>` mentions); one that cannot be
        looked up now is left out (the message shows the e-mail instead)."""
        unique = sorted({e.lower() for e in emails if e})
        ids = await asyncio.gather(*(self.user_id_of(e) for e in unique), return_exceptions=True)
        failed = [r for r in ids if isinstance(r, WebApiError)]
        if failed:
            log.warning("%d mention look-ups failed, e.g. %s", len(failed), failed[0])
        for result in ids:
            if isinstance(result, BaseException) and not isinstance(result, WebApiError):
                raise result
        return {email: uid for email, uid in zip(unique, ids, strict=True) if isinstance(uid, str) and uid}

    async def _cached(self, key: str, method: str, fetch: Callable[[], Awaitable[str]]) -> str:
        hit = self._cache.get(key)
        if hit and hit[1] > time.monotonic():
            return hit[0]
        pending = self._inflight.get(key)
        if pending is not None:  # one look-up per key, however many events arrive at once
            return await asyncio.shield(pending)
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            value = await self._load(key, method, fetch)
            future.set_result(value)
            return value
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved when nobody else is waiting
            raise
        finally:
            del self._inflight[key]

    async def _load(self, key: str, method: str, fetch: Callable[[], Awaitable[str]]) -> str:
        shared = await self._coordinator.recall(key)
        if shared is not None:
            self._remember_local(key, shared)
            return shared
        try:
            value = await asyncio.wait_for(fetch(), self._lookup_timeout)
        except TimeoutError:
            raise WebApiError(method, "timeout") from None
        except WebApiError as exc:
            if exc.reason not in _NOT_FOUND:
                raise  # not cached: a transient failure should not stick
            value = ""
        self._remember_local(key, value)
        await self._coordinator.remember(key, value, self._ttl if value else self._miss_ttl)
        return value

    def _remember_local(self, key: str, value: str) -> None:
        ttl = self._ttl if value else self._miss_ttl
        self._cache[key] = (value, time.monotonic() + ttl)
