"""A turn finished by another process after a crash reuses the first attempt's "Thinking…" message: the
thread shows one placeholder, turned into the answer (real Redis, SQLite inbox, Slack Web API emulator)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from channels.coordination import Coordinator
from channels.core import wording
from channels.inbox import Inbox
from tests.channels.scripted_handler import ScriptedHandler
from tests.channels.slack.support import GENERAL, mention, start_server, wait_for
from tests.emulators.slack_api import SlackApiEmulator
from tools.inbox_store import SqlInboxStore
from tools.storage.db import build_engine, build_sessionmaker, migrate


@pytest.fixture
def sessions(tmp_path: Path) -> AsyncIterator[sessionmaker[Session]]:
    engine = build_engine(f"sqlite:///{tmp_path / 'inbox.db'}")
    migrate(engine)
    yield build_sessionmaker(engine)
    engine.dispose()


def _placeholders(emulator: SlackApiEmulator, thread: str) -> int:
    return sum(1 for c in emulator.posts(GENERAL, thread) if wording.THINKING in str(c.params.get("text", "")))


async def test_a_recovered_turn_reuses_the_placeholder(
    coordinator: Coordinator, emulator: SlackApiEmulator, sessions: sessionmaker[Session]
) -> None:
    emulator.streaming_error = "unknown_method"  # the "Thinking…" + chat.update path
    store = SqlInboxStore(sessions)
    # The first process takes the event, posts "Thinking…" and dies inside the turn (its task is cancelled
    # before any answer exists, as `kill -9` would leave it: received, unfinished).
    stuck = ScriptedHandler(work_s=600)
    first_inbox = Inbox(store=store, coordinator=coordinator, lease=timedelta(seconds=-1))
    first = await start_server(stuck, coordinator, emulator, inbox=first_inbox)
    event = mention("U_BOB", "how do I get VPN access?")
    assert (await first.deliver(event)).status == 200
    await wait_for(lambda: _placeholders(emulator, event["ts"]) == 1 and stuck.turns, timeout=10)
    first.channel._work.cancel()  # the process dies inside the turn
    await wait_for(lambda: first.channel.in_flight == 0, timeout=10)

    # Another process's recovery pass finishes the event: same placeholder, now the answer.
    handler = ScriptedHandler()
    second_inbox = Inbox(store=store, coordinator=coordinator, lease=timedelta(seconds=-1))
    second = await start_server(handler, coordinator, emulator, inbox=second_inbox)
    try:
        assert await second_inbox.recover() == 1
        texts = [str(m["text"]) for m in emulator.thread(GENERAL, event["ts"])]
        assert handler.turns and texts and not any(wording.THINKING in t for t in texts), texts
        assert _placeholders(emulator, event["ts"]) == 1
        assert len(texts) == 1  # the answer replaced the one placeholder; nothing else was posted
    finally:
        await second.stop()
        await first.stop()


async def test_a_recovered_turn_reuses_its_open_stream(
    coordinator: Coordinator, emulator: SlackApiEmulator, sessions: sessionmaker[Session]
) -> None:
    """The same with streaming: the first attempt's stream is stopped and replaced whole, never a second one."""
    store = SqlInboxStore(sessions)
    stuck = ScriptedHandler(work_s=600)
    first = await start_server(stuck, coordinator, emulator, inbox=Inbox(store, coordinator, timedelta(seconds=-1)))
    event = mention("U_BOB", "how do I get VPN access?")
    assert (await first.deliver(event)).status == 200
    [start] = await wait_for(lambda: stuck.turns and emulator.of("chat.startStream"), timeout=10)
    first.channel._work.cancel()  # the process dies inside the turn
    await wait_for(lambda: first.channel.in_flight == 0, timeout=10)

    second_inbox = Inbox(store=store, coordinator=coordinator, lease=timedelta(seconds=-1))
    second = await start_server(ScriptedHandler(), coordinator, emulator, inbox=second_inbox)
    try:
        assert await second_inbox.recover() == 1
        [message] = emulator.thread(GENERAL, event["ts"])
        assert message["ts"] == start.response["ts"] and "vpn-users" in str(message["blocks"])
        assert message["streaming"] is False and len(emulator.of("chat.startStream")) == 1
        assert not emulator.posts(GENERAL, event["ts"])
    finally:
        await second.stop()
        await first.stop()
