"""Events over real HTTP: verification, mentions, DMs, threads, dedup of retries and duplicates."""

from __future__ import annotations

import asyncio
import json
import time

from tests.channels.scripted_handler import ScriptedHandler
from tests.channels.slack.support import GENERAL, SlackServer, direct, mention, new_ts, sign, thread_reply, wait_for
from tests.emulators.slack_api import BOT_USER_ID, SlackApiEmulator


def _answered(emulator: SlackApiEmulator, channel: str, thread_ts: str) -> list[dict]:
    """Messages in the thread whose placeholder has been replaced by the answer."""
    return [m for m in emulator.thread(channel, thread_ts) if m["updates"] > 0]


async def test_url_verification_echoes_the_challenge(server: SlackServer, emulator: SlackApiEmulator) -> None:
    body = json.dumps(
        {"token": "t", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"}
    )
    response = await server.post(body, content_type="application/json", headers=sign(body))
    assert response.status == 200
    assert "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" in await response.text()


async def test_mention_gets_a_threaded_answer_with_citations(
    server: SlackServer, emulator: SlackApiEmulator, handler: ScriptedHandler
) -> None:
    emulator.streaming_error = "unknown_method"  # the chat.update path (streaming unavailable)
    event = mention("U_BOB", "how do I get VPN access?")
    response = await server.deliver(event)
    assert response.status == 200
    [answer] = await wait_for(lambda: _answered(emulator, GENERAL, event["ts"]))
    assert answer["thread_ts"] == event["ts"]
    assert "vpn-users" in answer["text"] and "Sources" in answer["text"]
    context = [b for b in answer["blocks"] if b["type"] == "context"]
    sources = " ".join(e["text"] for b in context for e in b["elements"])
    assert "<https://wiki.example.com/it/vpn|[1] VPN access — Requesting access>" not in sources  # link inside label
    assert "[1] <https://wiki.example.com/it/vpn|VPN access — Requesting access>" in sources
    assert "[2] IT handbook — Accounts" in sources
    section = answer["blocks"][0]["text"]["text"]
    assert "*vpn-users*" in section and "&amp;" in section  # mrkdwn bold, escaped ampersand
    [turn] = handler.turns
    assert turn.text == "how do I get VPN access?"  # bot mention stripped
    assert turn.user_email == "bob.martin@example.com" and turn.shared
    assert turn.conversation_key == f"slack:T_LARKSPUR:{GENERAL}:{event['ts']}"
    # one placeholder post, then the answer replaced it: exactly one message in the thread
    assert len(emulator.posts(GENERAL, event["ts"])) == 1


async def test_direct_message_is_answered_privately(
    server: SlackServer, emulator: SlackApiEmulator, handler: ScriptedHandler
) -> None:
    event = direct("U_MAYA", "how do I get VPN access?")
    await server.deliver(event)
    [answer] = await wait_for(lambda: _answered(emulator, "DU_MAYA", event["ts"]))
    assert "vpn-users" in answer["text"]
    assert handler.turns[0].shared is False


async def test_thread_follow_up_reaches_the_same_conversation(
    server: SlackServer, emulator: SlackApiEmulator, handler: ScriptedHandler
) -> None:
    first = mention("U_BOB", "how do I get VPN access?")
    await server.deliver(first)
    await wait_for(lambda: _answered(emulator, GENERAL, first["ts"]))
    await server.deliver(thread_reply("U_BOB", "and who approves it?", first["ts"]))
    await wait_for(lambda: len(_answered(emulator, GENERAL, first["ts"])) == 2)
    assert [t.conversation_key for t in handler.turns] == [handler.turns[0].conversation_key] * 2
    assert handler.turns[1].text == "and who approves it?"


async def test_thread_reply_in_a_thread_started_by_the_bot_is_answered(
    server: SlackServer, emulator: SlackApiEmulator, handler: ScriptedHandler
) -> None:
    root = new_ts()
    await server.deliver(thread_reply("U_BOB", "thanks, and for the wiki?", root, parent_user=BOT_USER_ID))
    await wait_for(lambda: _answered(emulator, GENERAL, root))
    assert len(handler.turns) == 1


async def test_chatter_and_foreign_threads_are_ignored(
    server: SlackServer, emulator: SlackApiEmulator, handler: ScriptedHandler
) -> None:
    plain = {
        "type": "message",
        "channel_type": "channel",
        "user": "U_BOB",
        "text": "lunch?",
        "channel": GENERAL,
        "ts": new_ts(),
    }
    foreign = thread_reply("U_BOB", "agreed", new_ts())
    own = {**direct("U_MAYA", "echo"), "user": BOT_USER_ID, "bot_id": "B_DESKHAND"}
    edit = {**direct("U_MAYA", "x"), "subtype": "message_changed"}
    mention_copy = thread_reply("U_BOB", f"<@{BOT_USER_ID}> hi", new_ts())  # comes again as app_mention
    for event in (plain, foreign, own, edit, mention_copy):
        assert (await server.deliver(event)).status == 200
    # a marker event proves the server processed everything sent before it
    marker = direct("U_MAYA", "how do I get VPN access?")
    await server.deliver(marker)
    await wait_for(lambda: _answered(emulator, "DU_MAYA", marker["ts"]))
    await server.channel.drain()
    assert [t.text for t in handler.turns] == ["how do I get VPN access?"]


async def test_retries_and_duplicates_produce_one_reply(
    server: SlackServer, emulator: SlackApiEmulator, handler: ScriptedHandler
) -> None:
    emulator.streaming_error = "unknown_method"  # the chat.update path (streaming unavailable)
    event = mention("U_BOB", "how do I get VPN access?")
    statuses = [(await server.deliver(event, event_id="EvDUP1")).status]
    statuses += [(await server.deliver(event, event_id="EvDUP1", retry=n)).status for n in (1, 2, 3)]
    statuses += [r.status for r in await asyncio.gather(*(server.deliver(event, event_id="EvDUP1") for _ in range(5)))]
    assert statuses == [200] * 9
    await wait_for(lambda: _answered(emulator, GENERAL, event["ts"]))
    await server.channel.drain()
    assert len(handler.turns) == 1
    assert len(emulator.posts(GENERAL, event["ts"])) == 1


async def test_a_retry_whose_original_was_lost_is_answered_once(
    server: SlackServer, emulator: SlackApiEmulator, handler: ScriptedHandler
) -> None:
    event = mention("U_BOB", "how do I get VPN access?")
    await server.deliver(event, event_id="EvLOST1", retry=1)
    await server.deliver(event, event_id="EvLOST1", retry=2)
    await wait_for(lambda: _answered(emulator, GENERAL, event["ts"]))
    await server.channel.drain()
    assert len(handler.turns) == 1


async def test_invalid_signature_is_rejected_and_nothing_processed(
    server: SlackServer, emulator: SlackApiEmulator, handler: ScriptedHandler
) -> None:
    body = json.dumps(
        {"type": "event_callback", "event_id": "EvBAD", "team_id": "T_LARKSPUR", "event": mention("U_BOB", "hi")}
    )
    forged = sign(body, secret="not-the-secret")
    stale = sign(body, timestamp=int(time.time()) - 6 * 60)
    tampered = sign(body.replace("hi", "hold INV-10077"))
    for headers in (forged, stale, tampered, {}):
        response = await server.post(body, content_type="application/json", headers=headers)
        assert response.status == 401
    assert server.channel.in_flight == 0
    assert emulator.calls == [] or {c.method for c in emulator.calls} <= {"auth.test"}
    assert handler.turns == []


async def test_malformed_bodies_get_4xx_never_500(server: SlackServer, handler: ScriptedHandler) -> None:
    for body, content_type in (
        ("{not json", "application/json"),
        ("[1, 2]", "application/json"),
        ("payload=%7Bbroken", "application/x-www-form-urlencoded"),
        ("payload=%5B%5D", "application/x-www-form-urlencoded"),
        ('{"type": "event_callback", "event": null}', "application/json"),  # found by the fuzz test
        ("payload=%7B%22type%22%3A+%22event_callback%22%2C+%22view%22%3A+null%7D", "text/plain"),  # and this
        ('{"type": "event_callback", "event": {"type": []}}', "application/json"),  # and this (a matched name)
    ):
        response = await server.post(body, content_type=content_type, headers=sign(body))
        assert 400 <= response.status < 500, (body, response.status)
    response = await server.post("\xff\xfe", content_type="application/json", headers=sign("\xff\xfe"))
    assert 400 <= response.status < 500
    assert handler.turns == []


async def test_unknown_event_types_are_acknowledged_and_ignored(server: SlackServer, handler: ScriptedHandler) -> None:
    for event in ({"type": "reaction_added", "user": "U_BOB", "reaction": "eyes", "item": {}}, {"type": "team_join"}):
        response = await server.deliver(event)
        assert response.status == 200, response.status  # acked, so Slack does not retry
    shapeless = await server.deliver({})
    assert 400 <= shapeless.status < 500
    await server.channel.drain()
    assert handler.turns == []


async def test_user_mentions_become_emails_for_the_agent(
    server: SlackServer, emulator: SlackApiEmulator, handler: ScriptedHandler
) -> None:
    event = mention("U_ALICE", "add <@U_TOM> to vpn-users, cc <mailto:it@example.com|it@example.com>")
    await server.deliver(event)
    await wait_for(lambda: handler.turns)
    assert handler.turns[0].text == "add tom.becker@example.com to vpn-users, cc it@example.com"


async def test_user_lookups_are_cached_even_under_a_burst(
    server: SlackServer, emulator: SlackApiEmulator, handler: ScriptedHandler
) -> None:
    events = [direct("U_MAYA", "how do I get VPN access?") for _ in range(8)]
    await asyncio.gather(*(server.deliver(e) for e in events))
    await wait_for(lambda: all(_answered(emulator, "DU_MAYA", e["ts"]) for e in events))
    assert len(emulator.of("users.info")) == 1
    assert {t.user_email for t in handler.turns} == {"maya.patel@example.com"}
