"""Streamed answers over real HTTP: chat.startStream → appendStream (first sentence alone) → stopStream with
the sources and feedback; the chat.update fallback where streaming is unavailable; one message per turn."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from channels.coordination import Coordinator
from channels.inbox import Inbox
from channels.slack import actions
from tests.channels.scripted_handler import KNOWLEDGE_TEXT, ScriptedHandler
from tests.channels.slack.support import GENERAL, SlackServer, direct, mention, start_server, wait_for
from tests.emulators.slack_api import TEAM_ID, SlackApiEmulator
from tools.inbox_store import SqlInboxStore
from tools.storage.db import build_engine, build_sessionmaker, migrate


def _bot_messages(emulator: SlackApiEmulator, channel: str, thread: str) -> list[dict[str, object]]:
    return [m for m in emulator.thread(channel, thread) if m.get("bot_id")]  # the emulator stores only ours


async def test_a_knowledge_answer_streams_first_sentence_first_then_sources_and_feedback(
    server: SlackServer, emulator: SlackApiEmulator
) -> None:
    event = mention("U_BOB", "how do I get VPN access?")
    await server.deliver(event)
    [stop] = await wait_for(lambda: emulator.of("chat.stopStream"))
    [start] = emulator.of("chat.startStream")
    assert start.params == {
        "channel": GENERAL,
        "thread_ts": event["ts"],
        "recipient_user_id": "U_BOB",
        "recipient_team_id": TEAM_ID,
    }
    [first] = emulator.of("chat.appendStream")
    assert first.params["ts"] == start.response["ts"] and first.params["markdown_text"].startswith("To get VPN access")
    assert first.params["markdown_text"] + stop.params["markdown_text"] == KNOWLEDGE_TEXT
    block_ids = [b.get("block_id") for b in stop.params["blocks"]]
    assert actions.FEEDBACK_BLOCK in block_ids and any(b["type"] == "context" for b in stop.params["blocks"])
    [message] = _bot_messages(emulator, GENERAL, event["ts"])  # one message: no "Thinking…" left behind
    assert message["text"] == KNOWLEDGE_TEXT and message["streaming"] is False
    assert not emulator.of("chat.postMessage") and not emulator.of("chat.update")


async def test_a_dm_stream_needs_no_recipient(server: SlackServer, emulator: SlackApiEmulator) -> None:
    event = direct("U_ALICE", "how do I get VPN access?")
    await server.deliver(event)
    await wait_for(lambda: emulator.of("chat.stopStream"))
    [start] = emulator.of("chat.startStream")
    assert start.params == {"channel": "DU_ALICE", "thread_ts": event["ts"]}


@pytest.mark.parametrize("error", ["unknown_method", "method_deprecated", "not_allowed"])
async def test_without_streaming_the_placeholder_is_updated_and_streaming_is_not_asked_again(
    error: str, server: SlackServer, emulator: SlackApiEmulator
) -> None:
    emulator.streaming_error = error
    for n in range(2):
        event = mention("U_BOB", "how do I get VPN access?")
        await server.deliver(event)
        [answer] = await wait_for(
            lambda e=event: [m for m in _bot_messages(emulator, GENERAL, e["ts"]) if m["updates"]]
        )
        assert "vpn-users" in answer["text"]
        assert len(emulator.of("chat.update")) == n + 1
    assert len(emulator.of("chat.startStream", ok_only=False)) == 1  # remembered as unavailable


async def test_an_approval_request_streams_its_text_and_posts_the_request_below(
    server: SlackServer, emulator: SlackApiEmulator
) -> None:
    event = mention("U_BOB", "please hold INV-10077")
    await server.deliver(event)
    [request] = await wait_for(lambda: emulator.posts(GENERAL, event["ts"]))
    assert "Approval needed" in str(request.params["blocks"])
    [stop] = await wait_for(lambda: emulator.of("chat.stopStream"))
    assert stop.params["ts"] == emulator.of("chat.startStream")[0].response["ts"]
    assert all(not m.get("streaming") for m in _bot_messages(emulator, GENERAL, event["ts"]))


LEASE = timedelta(milliseconds=300)


@pytest.fixture
def sessions(fresh_pg_url: str) -> Iterator[sessionmaker[Session]]:
    engine = build_engine(fresh_pg_url)
    migrate(engine)
    yield build_sessionmaker(engine)
    engine.dispose()


async def test_a_recovered_streamed_turn_finishes_the_same_message(
    sessions: sessionmaker[Session], handler: ScriptedHandler, coordinator: Coordinator, emulator: SlackApiEmulator
) -> None:
    """A process dies after the answer was saved (its stream open): another process's recovery pass stops
    that stream and replaces the message whole; no second message is posted."""
    store = SqlInboxStore(sessions)
    parked = asyncio.Event()

    async def die_after_answer(point: str, _key: str) -> None:
        if point == "turn.after_answer":
            parked.set()
            await asyncio.Event().wait()

    first = await start_server(
        handler, coordinator, emulator, inbox=Inbox(store, coordinator, LEASE, fault=die_after_answer)
    )
    rescuer_inbox = Inbox(store, coordinator, LEASE)
    second = await start_server(ScriptedHandler(), coordinator, emulator, inbox=rescuer_inbox)
    try:
        event = mention("U_BOB", "how do I get VPN access?")
        await first.deliver(event)
        await asyncio.wait_for(parked.wait(), 5)
        [start] = emulator.of("chat.startStream")
        recovered = 0
        for _ in range(100):
            recovered = await rescuer_inbox.recover()
            if recovered:
                break
            await asyncio.sleep(LEASE.total_seconds() / 3)  # polling a condition: the lease's expiry
        assert recovered == 1
        [message] = _bot_messages(emulator, GENERAL, event["ts"])
        assert message["ts"] == start.response["ts"] and "vpn-users" in str(message["blocks"])
        assert not emulator.of("chat.postMessage") and len(emulator.of("chat.startStream")) == 1
        assert len(handler.turns) == 1  # the answer was not recomputed
    finally:
        await second.stop()
        await first.runner.cleanup()
        await first.session.close()
