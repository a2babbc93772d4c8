"""One dependency down, hung or answering garbage: the server stays up, Slack acks stay fast, answers keep
coming, and /readyz names the dependency. Real Redis and databases behind a proxy that can refuse or hang."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import jwt
import pytest
from aiohttp import web

from bot.server import build_web_app
from channels.coordination import build_coordinator, new_namespace
from channels.inbox import Inbox
from channels.slack import build_slack_channel
from channels.teams import build_teams_channel
from tests.channels.conftest import REDIS_URL
from tests.channels.faults import TcpProxy, slow_http_server
from tests.channels.scripted_handler import ScriptedHandler
from tests.channels.slack.support import GENERAL, SIGNING_SECRET, event_callback, mention, sign, wait_for
from tests.emulators.slack_api import BOT_TOKEN, SlackApiEmulator
from tools.inbox_store import SqlInboxStore
from tools.storage.db import build_engine, build_sessionmaker, migrate

ISSUER = "https://api.botframework.com"


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


async def timed_post(http: aiohttp.ClientSession, url: str, body: str, headers: dict[str, str]) -> tuple[int, float]:
    started = time.monotonic()
    async with http.post(url, data=body.encode(), headers=headers) as response:
        await response.read()
        return response.status, time.monotonic() - started


def signed(payload: dict[str, Any]) -> tuple[str, dict[str, str]]:
    body = json.dumps(payload)
    return body, {"Content-Type": "application/json", **sign(body)}


# --- Bot Framework keys ----------------------------------------------------------------------------
async def test_a_slow_key_endpoint_never_delays_slack_and_forged_tokens_fail_fast(
    emulator: SlackApiEmulator, handler: ScriptedHandler
) -> None:
    coordinator = build_coordinator(REDIS_URL, namespace=new_namespace("faults"))
    slack = build_slack_channel(
        handler, bot_token=BOT_TOKEN, signing_secret=SIGNING_SECRET, api_url=emulator.base_url, coordinator=coordinator
    )
    with slow_http_server(8.0) as keys_url:
        teams = build_teams_channel(
            handler,
            app_id="00000000-0000-0000-0000-00000000b07",
            app_password="not-a-real-password",
            tenant_id=None,
            app_type="MultiTenant",
            insecure_no_auth=False,
            coordinator=coordinator,
            openid_metadata_url=keys_url,
            token_issuer=ISSUER,
            auth_timeout_s=1.0,
        )
        runner, url = await serve(build_web_app(attach=[slack.attach, teams.attach], ready={"teams": teams.ready}))
        forged = jwt.encode(
            {"iss": ISSUER, "aud": "x"},
            "a-forger-without-the-bot-framework-keys",
            algorithm="HS256",
            headers={"kid": "k1"},
        )
        activity = {
            "type": "message",
            "id": uuid.uuid4().hex,
            "serviceUrl": "https://smba.trafficmanager.net/teams/",
            "channelId": "msteams",
            "conversation": {"id": "a:1"},
            "from": {"id": "29:1"},
            "recipient": {"id": "28:bot"},
            "text": "hi",
        }
        teams_headers = {"Content-Type": "application/json", "Authorization": f"Bearer {forged}"}
        body, slack_headers = signed({"token": "t", "challenge": "c-123", "type": "url_verification"})
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
                teams_calls = [
                    asyncio.create_task(timed_post(http, f"{url}/api/messages", json.dumps(activity), teams_headers))
                    for _ in range(3)
                ]
                await asyncio.sleep(0)  # the forged requests are in flight first
                slack_status, slack_took = await timed_post(http, f"{url}/slack/events", body, slack_headers)
                forged_results = await asyncio.gather(*teams_calls)
                again = await timed_post(http, f"{url}/api/messages", json.dumps(activity), teams_headers)
                async with http.get(f"{url}/readyz") as ready:
                    readiness = (ready.status, await ready.json())
        finally:
            await runner.cleanup()
            await coordinator.close()
    assert slack_status == 200 and slack_took < 2.0, slack_took  # not behind an 8 s key fetch
    assert [s for s, _ in forged_results] == [503] * 3
    assert all(took < 5.0 for _, took in forged_results)
    assert again[0] == 503 and again[1] < 1.0  # the failure is remembered: no new fetch
    assert readiness == (503, {"status": "unavailable", "failed": ["teams"]})


# --- Slack Web API at start-up -------------------------------------------------------------------------
@pytest.mark.parametrize("failure", ["refused", "garbage", "hung"])
async def test_slack_unreachable_at_start_up_degrades_the_channel_not_the_server(
    failure: str, handler: ScriptedHandler, tmp_path: Path
) -> None:
    coordinator = build_coordinator(REDIS_URL, namespace=new_namespace("faults"))
    with slow_http_server(0.0 if failure == "garbage" else 30.0, b"<html>oops</html>", "text/html") as bad_url:
        api_url = {"refused": "http://127.0.0.1:9/api/", "garbage": bad_url, "hung": bad_url}[failure]
        slack = build_slack_channel(
            handler, bot_token=BOT_TOKEN, signing_secret=SIGNING_SECRET, api_url=api_url, coordinator=coordinator
        )
        started = time.monotonic()
        runner, url = await serve(build_web_app(attach=[slack.attach], ready={"slack": slack.ready}))
        startup = time.monotonic() - started
        try:
            async with aiohttp.ClientSession() as http:
                async with http.get(f"{url}/healthz") as live:
                    assert live.status == 200
                async with http.get(f"{url}/readyz") as ready:
                    readiness = (ready.status, await ready.json())
        finally:
            await runner.cleanup()
            await coordinator.close()
    assert startup < 10.0
    assert readiness == (503, {"status": "unavailable", "failed": ["slack"]})


# --- Redis hung, database down ---------------------------------------------------------------------
async def test_with_redis_frozen_acks_stay_fast_and_answers_keep_coming(
    emulator: SlackApiEmulator, handler: ScriptedHandler, tmp_path: Path
) -> None:
    target = urlsplit(REDIS_URL)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 6379)
    port = await proxy.start()
    coordinator = await asyncio.to_thread(  # its start-up ping is blocking; the proxy runs on this loop
        build_coordinator,
        f"redis://127.0.0.1:{port}{target.path}",
        namespace=new_namespace("faults"),
        command_timeout_s=0.5,
    )
    engine = build_engine(f"sqlite:///{tmp_path / 'inbox.db'}")
    migrate(engine)
    inbox = Inbox(store=SqlInboxStore(build_sessionmaker(engine)), coordinator=coordinator, timeout_s=0.5)
    slack = build_slack_channel(
        handler,
        bot_token=BOT_TOKEN,
        signing_secret=SIGNING_SECRET,
        api_url=emulator.base_url,
        coordinator=coordinator,
        bot_user_id="U_DESKHAND",
        inbox=inbox,
    )
    runner, url = await serve(build_web_app(attach=[slack.attach], ready={"redis": coordinator.ping}))
    events = [mention("U_BOB", f"how do I get VPN access? ({n})") for n in range(4)]
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            proxy.mode = "hang"
            acks = [await timed_post(http, f"{url}/slack/events", *signed(event_callback(e))) for e in events]
            for event in events:
                await wait_for(lambda e=event: len(emulator.thread(GENERAL, e["ts"])) >= 1, timeout=30)
            async with http.get(f"{url}/readyz") as ready:
                readiness = (ready.status, await ready.json())
            await slack.drain()
    finally:
        await runner.cleanup()
        await proxy.stop()
        engine.dispose()
    assert [status for status, _ in acks] == [200] * 4
    assert max(took for _, took in acks) < 1.5, acks  # each dependency call on the ack path is bounded
    assert len(handler.turns) == 4  # no turn lost to the frozen Redis
    assert readiness == (503, {"status": "unavailable", "failed": ["redis"]})


async def test_readyz_names_the_database_when_it_goes_down(pg_url: str, tmp_path: Path) -> None:
    target = urlsplit(pg_url.replace("postgresql+psycopg://", "postgresql://"))
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 5432)
    port = await proxy.start()
    proxied = pg_url.replace(f"{target.hostname}:{target.port}", f"127.0.0.1:{port}")
    engine = build_engine(proxied)
    await asyncio.to_thread(migrate, engine)
    inbox = Inbox(store=SqlInboxStore(build_sessionmaker(engine)), coordinator=build_coordinator(None))
    runner, url = await serve(build_web_app(ready={"database": inbox.ping}))
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{url}/readyz") as ready:
                before = ready.status
            proxy.mode = "refuse"
            engine.dispose()  # pooled connections would otherwise outlive the outage
            async with http.get(f"{url}/healthz") as live, http.get(f"{url}/readyz") as ready:
                after = (live.status, ready.status, await ready.json())
    finally:
        await runner.cleanup()
        await proxy.stop()
        engine.dispose()
    assert before == 200
    assert after == (200, 503, {"status": "unavailable", "failed": ["database"]})
