"""Teams durability: an activity accepted (persisted, then acked) by a process that dies, or whose answer
could not be sent, is answered exactly once by the inbox's recovery pass in another process.

Real PostgreSQL (the durable inbox), real Redis (coordination) and the Bot Connector emulator; the two
"processes" are two channels on two servers sharing the database, the first one abandoned mid-turn.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from channels.coordination import Coordinator
from channels.inbox import Inbox
from tests.channels.scripted_handler import KNOWLEDGE_TEXT, ScriptedHandler
from tests.channels.teams.support import personal_conversation, personal_message, start_server
from tests.emulators.bot_connector import BotConnectorEmulator
from tools.inbox_store import SqlInboxStore
from tools.storage.db import build_engine, build_sessionmaker, migrate

LEASE = timedelta(milliseconds=300)  # how long a dead process's claim blocks a takeover


@pytest.fixture
def sessions(fresh_pg_url: str) -> Iterator[sessionmaker[Session]]:
    engine = build_engine(fresh_pg_url)
    migrate(engine)
    yield build_sessionmaker(engine)
    engine.dispose()


class Parking:
    """A fault hook: work reaching `point` stops there for good (the process is about to die)."""

    def __init__(self, point: str) -> None:
        self.point = point
        self.reached = asyncio.Event()

    async def __call__(self, point: str, _key: str) -> None:
        if point == self.point:
            self.reached.set()
            await asyncio.Event().wait()


async def _recovered(inbox: Inbox) -> int:
    """Run the recovery pass until it finds the abandoned delivery (its lease runs out first)."""
    for _ in range(100):
        done = await inbox.recover()
        if done:
            return done
        await asyncio.sleep(LEASE.total_seconds() / 3)  # polling a condition: the lease's expiry
    raise AssertionError("recovery never found the abandoned activity")


@pytest.mark.parametrize("point", ["turn.after_accept", "turn.after_answer", "send_failed"])
async def test_an_abandoned_activity_is_answered_exactly_once_by_recovery(
    point: str,
    sessions: sessionmaker[Session],
    handler: ScriptedHandler,
    coordinator: Coordinator,
    connector: BotConnectorEmulator,
) -> None:
    store = SqlInboxStore(sessions)
    parking = Parking(point)
    dying = Inbox(store=store, coordinator=coordinator, lease=LEASE, fault=parking)
    first = await start_server(handler, coordinator, inbox=dying)
    bob = connector.user("bob.martin@example.com")
    chat = personal_conversation(bob)
    activity = personal_message(connector, bob, "How do I get VPN access?")
    try:
        if point == "send_failed":
            await first.post(personal_message(connector, bob, "warm up the profile cache"))
            await connector.wait_for(lambda: connector.messages(chat))
            connector.fail_next(
                1, status=502, method="POST", activity_type="message"
            )  # the answer's POST fails; no retry (may be posted)
        assert (await first.post(activity))[0] == 202  # persisted before this ack
        if point == "send_failed":
            await connector.wait_for(lambda: [m for m in connector.messages(chat) if "reference" in m.text])
            await first.channel.drain()
        else:
            await asyncio.wait_for(parking.reached.wait(), 10)
    finally:
        await first.channel.close(timeout_s=0)  # the process dies: parked work is abandoned
        await first.stop()
    answered_before = [m.text for m in connector.messages(chat)].count(KNOWLEDGE_TEXT)
    turns_before = len(handler.turns)

    survivor = Inbox(store=store, coordinator=coordinator, lease=LEASE)
    second = await start_server(handler, coordinator, inbox=survivor)
    try:
        assert await _recovered(survivor) == 1
        await connector.wait_for(
            lambda: [m.text for m in connector.messages(chat)].count(KNOWLEDGE_TEXT) == answered_before + 1
        )
        # An answer that existed is delivered, never recomputed; one that did not is computed once.
        assert len(handler.turns) == turns_before + (1 if point == "turn.after_accept" else 0)
        # Finished: a later recovery pass and a redelivery of the same activity change nothing.
        assert await survivor.recover() == 0
        assert (await second.post(activity))[0] == 202
        await second.channel.drain()
        assert [m.text for m in connector.messages(chat)].count(KNOWLEDGE_TEXT) == answered_before + 1
        reply = [m for m in connector.messages(chat) if m.text == KNOWLEDGE_TEXT][-1]
        assert reply.target_id == activity["id"]  # answered in reply to the original message
    finally:
        await second.channel.drain()
        await second.stop()
