"""A half-streamed answer and recovery: the process that streamed it dies, another finishes it, and the
user ends up with exactly one final answer message.

Once the first chunk is posted, the stream id is saved with the answer (inbox). Recovery then posts the
final message *into that stream* (the half-streamed message becomes the answer; no second message). If Teams
no longer takes the stream (it timed out), the answer is posted as a message of its own. If the final
message was already posted before the crash, recovery posts nothing (the channel remembers finished
streams). Real PostgreSQL, Redis and the Bot Connector emulator, as in `test_recovery.py`.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.orm import Session, sessionmaker

from channels.base import InboundMessage, Reply
from channels.context import current_answer_sink
from channels.coordination import Coordinator
from channels.inbox import Inbox
from tests.channels.scripted_handler import KNOWLEDGE_TEXT, ScriptedHandler
from tests.channels.teams.support import personal_conversation, personal_message, start_server
from tests.channels.teams.test_recovery import LEASE, Parking, _recovered, sessions  # noqa: F401 (fixture)
from tests.emulators.bot_connector import BotConnectorEmulator
from tools.inbox_store import SqlInboxStore


@pytest.mark.parametrize(
    ("point", "expire"),
    [("teams.stream_started", False), ("teams.stream_started", True), ("teams.after_delivery", False)],
)
async def test_a_half_streamed_answer_gets_exactly_one_final_message(
    point: str,
    expire: bool,
    sessions: sessionmaker[Session],  # noqa: F811
    handler: ScriptedHandler,
    coordinator: Coordinator,
    connector: BotConnectorEmulator,
) -> None:
    store = SqlInboxStore(sessions)
    parking = Parking(point)
    scripted_handle = handler.handle

    async def slow_handle(message: InboundMessage) -> Reply:
        # A slow answer: the informative update began the stream before the answer existed (a fast answer
        # is sent whole, without a stream).
        await connector.wait_for(lambda: any(c.stream_type == "informative" for c in connector.calls))
        return await scripted_handle(message)

    handler.handle = slow_handle  # type: ignore[method-assign]
    inbox = Inbox(store=store, coordinator=coordinator, lease=LEASE, fault=parking)
    first = await start_server(handler, coordinator, inform_after_s=0.0, inbox=inbox)
    bob = connector.user("bob.martin@example.com")
    chat = personal_conversation(bob)
    activity = personal_message(connector, bob, "How do I get VPN access?")
    try:
        assert (await first.post(activity))[0] == 202
        await asyncio.wait_for(parking.reached.wait(), 10)
    finally:
        await first.channel.close(timeout_s=0)  # the process dies mid-stream (or just after the final)
        await first.stop()
    [begun] = [c for c in connector.calls if c.stream_type == "informative"]
    stream_id = begun.response_id
    handler.handle = scripted_handle  # type: ignore[method-assign]
    finals_before = len(connector.messages(chat))
    assert finals_before == (1 if point == "teams.after_delivery" else 0)
    if expire:
        connector.streams.expire(str(stream_id))  # Teams gave up on the stream while nobody finished it
    turns = len(handler.turns)

    survivor = Inbox(store=store, coordinator=coordinator, lease=LEASE)
    second = await start_server(handler, coordinator, inbox=survivor)
    try:
        assert await _recovered(survivor) == 1
        await connector.wait_for(lambda: [m.text for m in connector.messages(chat)] == [KNOWLEDGE_TEXT])
        await second.channel.drain()
        assert await survivor.recover() == 0
    finally:
        await second.channel.drain()
        await second.stop()
    [answer] = connector.messages(chat)  # one answer message, whatever the crash point
    assert len(handler.turns) == turns  # delivered from the saved answer, never recomputed
    assert answer.target_id == activity["id"]
    if expire:
        assert answer.stream_type is None  # a message of its own: the old stream was closed
        assert [c.status for c in connector.calls if c.stream_type == "final"] == [403]
    else:
        [end] = [e for e in answer.body["entities"] if e["type"] == "streaminfo"]
        assert answer.stream_type == "final" and end["streamId"] == stream_id  # the streamed message itself


async def test_a_turn_that_died_while_streaming_its_answer_finishes_the_same_message(
    sessions: sessionmaker[Session],  # noqa: F811
    handler: ScriptedHandler,
    coordinator: Coordinator,
    connector: BotConnectorEmulator,
) -> None:
    """The process dies after the first words were streamed but before the answer was saved: the turn is run
    again by recovery, which finds the stream the first attempt began and finishes it (one message)."""
    store = SqlInboxStore(sessions)
    scripted_handle = handler.handle
    first_words = "To get VPN access, "

    async def dies_mid_answer(message: InboundMessage) -> Reply:
        await connector.wait_for(lambda: any(c.stream_type == "informative" for c in connector.calls))
        sink = current_answer_sink()
        assert sink is not None
        sink(first_words, False)
        await connector.wait_for(lambda: any(c.stream_type == "streaming" for c in connector.calls))
        await asyncio.Event().wait()  # the process dies here
        raise AssertionError("unreachable")

    handler.handle = dies_mid_answer  # type: ignore[method-assign]
    first = await start_server(
        handler, coordinator, inform_after_s=0.0, inbox=Inbox(store=store, coordinator=coordinator, lease=LEASE)
    )
    bob = connector.user("bob.martin@example.com")
    chat = personal_conversation(bob)
    activity = personal_message(connector, bob, "How do I get VPN access?")
    try:
        assert (await first.post(activity))[0] == 202
        [shown] = await connector.wait_for(lambda: [c for c in connector.calls if c.stream_type == "streaming"])
    finally:
        await first.channel.close(timeout_s=0)
        await first.stop()
    assert shown.text == first_words and not connector.messages(chat)
    [begun] = [c for c in connector.calls if c.stream_type == "informative"]
    handler.handle = scripted_handle  # type: ignore[method-assign]

    survivor = Inbox(store=store, coordinator=coordinator, lease=LEASE)
    second = await start_server(handler, coordinator, inbox=survivor)
    try:
        assert await _recovered(survivor) == 1
        await connector.wait_for(lambda: connector.messages(chat))
        await second.channel.drain()
    finally:
        await second.stop()
    [answer] = connector.messages(chat)  # one message: the streamed one, finished
    [end] = [e for e in answer.body["entities"] if e["type"] == "streaminfo"]
    assert answer.stream_type == "final" and end["streamId"] == begun.response_id and answer.text == KNOWLEDGE_TEXT
    assert [c.stream_type for c in connector.calls if c.stream_type == "informative"] == ["informative"]
