"""The hand-off store on SQLite and PostgreSQL: saved once per turn, every change committed with its audit entry."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from graphs.governance.audit import AuditLog
from graphs.handoff_store import HandoffRow, HandoffStore
from tools.storage.db import Base, build_engine, build_sessionmaker, migrate

REF = {"channel": "C_GENERAL", "thread_ts": "1700000000.000100", "team": "T1"}


@pytest.fixture(params=["sqlite", "postgres"])
def stores(request: pytest.FixtureRequest, sqlite_url: str) -> Iterator[tuple[HandoffStore, AuditLog, object]]:
    url = sqlite_url if request.param == "sqlite" else request.getfixturevalue("fresh_pg_url")
    engine = build_engine(url)
    migrate(engine)
    sessions = build_sessionmaker(engine)
    audit = AuditLog(sessions)
    yield HandoffStore(sessions, audit, "policy-v1"), audit, engine
    engine.dispose()


def _create(store: HandoffStore, request_id: str = "req-1", question: str = "talk to HR please") -> object:
    return store.create(
        request_id=request_id, team="HR", requester="bob.martin@example.com", question=question,
        channel="slack", conversation_ref=REF,
    )  # fmt: skip


def test_saved_once_per_turn_and_audited(stores) -> None:
    store, audit, _ = stores
    first = _create(store)
    again = _create(store)
    assert again.id == first.id and first.status == "pending" and first.conversation_ref == REF
    assert len(store.list()) == 1
    [entry] = [e for e in audit.tail(10) if e.kind == "handoff"]
    assert entry.payload == {
        "event": "requested",
        "handoff_id": first.id,
        "team": "HR",
        "question": "talk to HR please",
    }
    assert entry.policy_version == "policy-v1" and audit.verify().ok


def test_settling_records_the_thread_and_replies_are_counted(stores) -> None:
    store, audit, _ = stores
    h = _create(store)
    settled, audit_id = store.settle(h.id, "posted", destination="slack", team_thread="slack:T1:C_HR:1700000001.000200")
    assert settled.status == "posted" and audit.get(audit_id).payload["event"] == "posted"
    assert store.by_team_thread("slack:T1:C_HR:1700000001.000200").id == h.id
    assert store.by_team_thread("slack:T1:C_HR:other") is None
    store.record_reply(h.id, "olivia.rossi@example.com", relayed=True)
    store.record_reply(h.id, "olivia.rossi@example.com", relayed=False)
    assert store.get(h.id).replies == 1
    events = [e.payload["event"] for e in audit.tail(10) if e.kind == "handoff"]
    assert events == ["requested", "posted", "reply_relayed", "reply_not_relayed"] and audit.verify().ok


def test_no_record_without_its_audit_entry(stores) -> None:
    store, audit, _ = stores
    with pytest.raises(ValueError, match="too large"):
        _create(store, "req-huge", question="x" * 70_000)  # the audit entry is refused
    assert store.by_request("req-huge") is None and store.list() == []
    assert audit.verify().ok


def test_the_migration_matches_the_model(stores) -> None:
    _, _, engine = stores
    with engine.connect() as conn:  # type: ignore[attr-defined]
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    mine = [d for d in diffs if HandoffRow.__tablename__ in repr(d)]
    assert mine == []
