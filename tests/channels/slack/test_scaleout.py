"""Several servers sharing one Redis, Redis outages, and Socket Mode."""

from __future__ import annotations

import asyncio
import json
import socket

import redis.asyncio as aioredis

from channels.coordination import RedisCoordinator, build_coordinator, new_namespace
from channels.slack import actions
from tests.channels.conftest import REDIS_URL
from tests.channels.scripted_handler import ScriptedHandler
from tests.channels.slack.support import GENERAL, click, event_callback, mention, start_server, wait_for
from tests.emulators.slack_api import APP_TOKEN, SlackApiEmulator


async def test_two_servers_sharing_redis_answer_a_duplicated_event_once(emulator: SlackApiEmulator) -> None:
    emulator.streaming_error = "unknown_method"  # the chat.update path (streaming unavailable)
    namespace = new_namespace("slacktest")
    coordinators = [build_coordinator(REDIS_URL, namespace=namespace) for _ in range(2)]
    handlers = [ScriptedHandler(), ScriptedHandler()]
    servers = [await start_server(h, c, emulator) for h, c in zip(handlers, coordinators, strict=True)]
    try:
        event = mention("U_BOB", "how do I get VPN access?")
        deliveries = [s.deliver(event, event_id="EvSCALE1", retry=r) for s in servers for r in (None, 1)]
        assert [r.status for r in await asyncio.gather(*deliveries)] == [200] * 4
        await wait_for(lambda: [m for m in emulator.thread(GENERAL, event["ts"]) if m["updates"]])
        for s in servers:
            await s.channel.drain()
        assert sum(len(h.turns) for h in handlers) == 1
        assert len(emulator.posts(GENERAL, event["ts"])) == 1
    finally:
        for s in servers:
            await s.stop()
        for c in coordinators:
            await c.close()


async def test_two_servers_sharing_redis_decide_a_duplicated_click_once(emulator: SlackApiEmulator) -> None:
    namespace = new_namespace("slacktest")
    coordinators = [build_coordinator(REDIS_URL, namespace=namespace) for _ in range(2)]
    handler = ScriptedHandler()  # one agent core behind both servers
    servers = [await start_server(handler, c, emulator) for c in coordinators]
    try:
        event = mention("U_BOB", "please hold INV-10077")
        await servers[0].deliver(event)
        await wait_for(lambda: handler.refs)
        [(approval_id, [ref])] = handler.refs.items()
        payload = click(
            "U_CAROL", actions.APPROVE, approval_id, channel=GENERAL, message_ts=ref.data["ts"], thread_ts=event["ts"]
        )
        await asyncio.gather(*(s.interact(payload) for s in servers))
        await wait_for(lambda: handler.executions)
        for s in servers:
            await s.channel.drain()
        assert handler.decide_calls == 1 and handler.executions == [approval_id]
    finally:
        for s in servers:
            await s.stop()
        for c in coordinators:
            await c.close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_redis_down_while_serving_answers_503_and_processes_nothing(emulator: SlackApiEmulator) -> None:
    # Built past build_coordinator's start-up check, as if Redis died after start-up.
    client = aioredis.Redis.from_url(f"redis://127.0.0.1:{_closed_port()}/0", socket_connect_timeout=0.5)
    coordinator = RedisCoordinator(client, namespace=new_namespace("slacktest"))
    handler = ScriptedHandler()
    server = await start_server(handler, coordinator, emulator)
    try:
        response = await server.deliver(mention("U_BOB", "how do I get VPN access?"))
        assert response.status == 503  # Slack retries later; nothing was done twice or at all
        async with server.session.get(f"{server.url}/readyz") as ready:
            assert ready.status == 503
        await server.channel.drain()
        assert handler.turns == [] and emulator.of("chat.postMessage") == []
    finally:
        await server.stop()
        await coordinator.close()


async def test_socket_mode_receives_acks_and_answers(emulator: SlackApiEmulator, coordinator: RedisCoordinator) -> None:
    handler = ScriptedHandler()
    server = await start_server(handler, coordinator, emulator)
    try:
        await server.channel.start_socket_mode(APP_TOKEN)
        event = mention("U_BOB", "how do I get VPN access?")
        body = event_callback(event)
        ack = await emulator.socket_send("events_api", body)
        assert "envelope_id" in ack
        again = await emulator.socket_send("events_api", json.loads(json.dumps(body)))  # a redelivery
        assert "envelope_id" in again
        await wait_for(lambda: [m for m in emulator.thread(GENERAL, event["ts"]) if m["updates"]])
        await server.channel.drain()
        assert len(handler.turns) == 1
    finally:
        await server.stop()
