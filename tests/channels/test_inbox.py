"""The shared durable inbox: a duplicate while the first handler lives is dropped, a dead handler's event is
taken over after its lease, a saved answer is delivered by recovery, and handled ids outlive Redis."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from channels.base import Reply, SourceRef
from channels.coordination import InProcessCoordinator
from channels.inbox import Inbox, InboxItem, reply_from_data, reply_to_data
from tools.inbox_store import SqlInboxStore
from tools.storage.db import build_engine, build_sessionmaker, migrate

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)


@pytest.fixture(params=["sqlite", "postgres"])
def sessions(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    url = f"sqlite:///{tmp_path / 'inbox.db'}" if request.param == "sqlite" else request.getfixturevalue("fresh_pg_url")
    engine = build_engine(url)
    migrate(engine)
    yield build_sessionmaker(engine)
    engine.dispose()


def test_a_redelivery_is_dropped_while_its_handler_lives_and_taken_over_after(
    sessions: sessionmaker[Session],
) -> None:
    store = SqlInboxStore(sessions)
    assert store.accept("slack:event:Ev1", "slack", "event", {"n": 1}, T0, LEASE) == "new"
    assert store.accept("slack:event:Ev1", "slack", "event", {"n": 1}, T0 + LEASE / 2, LEASE) == "duplicate"
    assert store.accept("slack:event:Ev1", "slack", "event", {"n": 1}, T0 + LEASE * 2, LEASE) == "takeover"
    assert store.accept("slack:event:Ev1", "slack", "event", {"n": 1}, T0 + LEASE * 2, LEASE) == "duplicate"
    store.complete("slack:event:Ev1", True, T0 + LEASE * 2)
    assert store.accept("slack:event:Ev1", "slack", "event", {"n": 1}, T0 + LEASE * 10, LEASE) == "duplicate"


def test_recovery_takes_only_expired_unfinished_items_of_served_channels_once(
    sessions: sessionmaker[Session],
) -> None:
    store = SqlInboxStore(sessions)
    for key, channel in (("a", "slack"), ("b", "slack"), ("c", "teams"), ("d", "slack")):
        store.accept(key, channel, "event", {"key": key}, T0, LEASE)
    store.complete("b", True, T0)
    store.answered("d", {"reply": {"text": "saved"}}, T0, LEASE)
    taken = store.take_due(T0 + LEASE * 3, LEASE, 10, ["slack"])
    assert sorted(i.key for i in taken) == ["a", "d"]
    assert next(i for i in taken if i.key == "d").reply == {"reply": {"text": "saved"}}
    assert store.take_due(T0 + LEASE * 3, LEASE, 10, ["slack"]) == []  # re-leased to the first taker


async def test_a_saved_answer_is_delivered_by_recovery_and_done_ids_survive_a_cache_loss(
    sessions: sessionmaker[Session],
) -> None:
    store = SqlInboxStore(sessions)
    replayed: list[InboxItem] = []
    inbox = Inbox(store=store, coordinator=InProcessCoordinator(), lease=timedelta(seconds=-1))

    async def replay(item: InboxItem) -> None:
        replayed.append(item)
        await inbox.complete(item.key)

    inbox.replayers["slack"] = replay
    assert await inbox.accept("slack:event:Ev9", "slack", "event", {"event_id": "Ev9"})
    reply = Reply(text="Answer [1]", route="answer", citations=(SourceRef(1, "T", "t.md", "H", 0.5),))
    await inbox.answered("slack:event:Ev9", reply, {"placeholder": "123.456"})
    assert await inbox.recover() == 1
    assert reply_from_data(replayed[0].reply["reply"]) == reply  # type: ignore[index]
    assert replayed[0].reply["placeholder"] == "123.456"  # type: ignore[index]
    # A Redis restart forgets the fast-path record; the database still knows the event was handled.
    fresh = Inbox(store=store, coordinator=InProcessCoordinator())
    assert not await fresh.accept("slack:event:Ev9", "slack", "event", {"event_id": "Ev9"})
    assert reply_to_data(reply)["citations"][0]["source"] == "t.md"


async def test_a_replay_that_waits_does_not_hold_up_the_others(sessions: sessionmaker[Session]) -> None:
    """The first event's replay waits (as for a dead holder's conversation lock) until the second one was
    replayed: one by one, the pass would never get there."""
    store = SqlInboxStore(sessions)
    inbox = Inbox(store=store, coordinator=InProcessCoordinator(), lease=timedelta(seconds=-1))
    second_done = asyncio.Event()

    async def replay(item: InboxItem) -> None:
        if item.key == "slack:event:first":
            await second_done.wait()
        else:
            second_done.set()
        await inbox.complete(item.key)

    inbox.replayers["slack"] = replay
    for name in ("first", "second"):
        assert await inbox.accept(f"slack:event:{name}", "slack", "event", {"event_id": name})
    assert await asyncio.wait_for(inbox.recover(), timeout=10) == 2
