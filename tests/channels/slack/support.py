"""Test support for the Slack channel: a real server on 127.0.0.1, signed deliveries, Slack payload shapes."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from bot.server import build_web_app
from channels.base import TurnHandler
from channels.coordination import Coordinator
from channels.slack import SlackChannel, build_slack_channel
from tests.emulators.slack_api import BOT_TOKEN, BOT_USER_ID, TEAM_ID, SlackApiEmulator

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
GENERAL = "C_GENERAL"  # a public channel
_ts = itertools.count(1)


def new_ts() -> str:
    return f"{int(time.time())}.{next(_ts):06d}"


async def wait_for(condition: Callable[[], Any], timeout: float = 5.0, interval: float = 0.02) -> Any:
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


def sign(body: str, timestamp: int | None = None, secret: str = SIGNING_SECRET) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def event_callback(event: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    return {
        "token": "legacy-verification-token",
        "team_id": TEAM_ID,
        "api_app_id": "A_DESKHAND",
        "type": "event_callback",
        "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}],
        "event": {"event_ts": event.get("ts", ""), **event},
    }


def mention(
    user: str, text: str, *, channel: str = GENERAL, ts: str | None = None, thread_ts: str | None = None
) -> dict[str, Any]:
    event = {
        "type": "app_mention",
        "user": user,
        "text": f"<@{BOT_USER_ID}> {text}",
        "channel": channel,
        "ts": ts or new_ts(),
        "team": TEAM_ID,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def direct(user: str, text: str, *, ts: str | None = None) -> dict[str, Any]:
    return {
        "type": "message",
        "channel_type": "im",
        "user": user,
        "text": text,
        "channel": f"D{user}",
        "ts": ts or new_ts(),
        "team": TEAM_ID,
    }


def thread_reply(
    user: str, text: str, thread_ts: str, *, channel: str = GENERAL, parent_user: str | None = None
) -> dict[str, Any]:
    return {
        "type": "message",
        "channel_type": "channel",
        "user": user,
        "text": text,
        "channel": channel,
        "ts": new_ts(),
        "thread_ts": thread_ts,
        "parent_user_id": parent_user or "U_SOMEONE",
        "team": TEAM_ID,
    }


def click(
    user: str,
    action_id: str,
    value: str,
    *,
    channel: str,
    message_ts: str,
    thread_ts: str | None = None,
    ephemeral: bool = False,
    response_url: str = "https://hooks.slack.invalid/actions/T/1/xyz",
) -> dict[str, Any]:
    """A `block_actions` payload; `ephemeral`: a click on an ephemeral message (Slack then sends no
    `message`, only the container)."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "team": {"id": TEAM_ID, "domain": "larkspur"},
        "user": {"id": user, "username": user.lower(), "team_id": TEAM_ID},
        "api_app_id": "A_DESKHAND",
        "token": "legacy-verification-token",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel, "is_ephemeral": ephemeral},
        "trigger_id": f"{uuid.uuid4().int % 10**12}.trigger",
        "channel": {"id": channel, "name": "general"},
        "message": {"type": "message", "ts": message_ts, "thread_ts": thread_ts, "bot_id": "B_DESKHAND"},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": "b",
                "value": value,
                "type": "button",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    if ephemeral:
        del payload["message"]
    return payload


def view_submission(user: str, view: dict[str, Any], reason: str | None) -> dict[str, Any]:
    """What Slack sends when `user` submits the modal `view` (as `views.open` showed it) with `reason` typed."""
    block = next(b for b in view["blocks"] if b.get("type") == "input")
    element = block["element"]
    value = {"type": element["type"], "value": reason}
    return {
        "type": "view_submission",
        "team": {"id": TEAM_ID, "domain": "larkspur"},
        "user": {"id": user, "username": user.lower(), "team_id": TEAM_ID},
        "api_app_id": "A_DESKHAND",
        "token": "legacy-verification-token",
        "trigger_id": f"{uuid.uuid4().int % 10**12}.trigger",
        "view": {
            **view,
            "team_id": TEAM_ID,
            "state": {"values": {block["block_id"]: {element["action_id"]: value}}},
        },
        "response_urls": [],
        "is_enterprise_install": False,
    }


@dataclass
class SlackServer:
    """`deskhand serve`'s web app with the Slack channel, on a free port."""

    channel: SlackChannel
    runner: web.AppRunner
    url: str
    session: aiohttp.ClientSession

    async def post(
        self, body: str, *, content_type: str, headers: dict[str, str] | None = None
    ) -> aiohttp.ClientResponse:
        async with self.session.post(
            f"{self.url}/slack/events", data=body.encode(), headers={"Content-Type": content_type, **(headers or {})}
        ) as response:
            await response.read()
            return response

    async def deliver(
        self, event: dict[str, Any], *, event_id: str | None = None, retry: int | None = None
    ) -> aiohttp.ClientResponse:
        """Deliver one signed Events API callback (a retry when `retry` is set)."""
        body = json.dumps(event if event.get("type") == "event_callback" else event_callback(event, event_id))
        headers = sign(body)
        if retry is not None:
            headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        return await self.post(body, content_type="application/json", headers=headers)

    async def interact(self, payload: dict[str, Any]) -> aiohttp.ClientResponse:
        body = urlencode({"payload": json.dumps(payload)})
        return await self.post(body, content_type="application/x-www-form-urlencoded", headers=sign(body))

    async def submit(self, payload: dict[str, Any]) -> tuple[int, str]:
        """Post a signed `view_submission`; (status, body): an empty body closes the modal."""
        body = urlencode({"payload": json.dumps(payload)})
        headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
        async with self.session.post(f"{self.url}/slack/events", data=body.encode(), headers=headers) as response:
            return response.status, await response.text()

    async def stop(self) -> None:
        await self.session.close()
        await self.runner.cleanup()


async def start_server(
    handler: TurnHandler,
    coordinator: Coordinator,
    api: SlackApiEmulator | str,
    observe: Callable[[float], None] | None = None,
    **channel_options: Any,
) -> SlackServer:
    """The web app with the Slack channel on a free 127.0.0.1 port, its Web API client at `api`;
    `observe` receives each request's time inside the server (benchmarks); `channel_options` go to
    `build_slack_channel` (time-outs)."""
    channel = build_slack_channel(
        handler,
        bot_token=BOT_TOKEN,
        signing_secret=SIGNING_SECRET,
        api_url=api if isinstance(api, str) else api.base_url,
        coordinator=coordinator,
        **channel_options,
    )
    if hasattr(handler, "add_outbox"):
        handler.add_outbox(channel.outbox)
    app = build_web_app(attach=[channel.attach], ready=[channel.ready])
    if observe is not None:
        timer = observe

        @web.middleware
        async def timed(request: web.Request, handler: Any) -> web.StreamResponse:
            start = time.perf_counter()
            try:
                return await handler(request)
            finally:
                timer(time.perf_counter() - start)

        app.middlewares.append(timed)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = int(runner.addresses[0][1])
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
    return SlackServer(channel=channel, runner=runner, url=f"http://127.0.0.1:{port}", session=session)
