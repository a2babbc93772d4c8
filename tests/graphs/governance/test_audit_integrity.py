"""The keyed audit chain: re-hashing without the key, truncation against anchors, and state changes that
commit only together with their audit entries (cross-checked by `audit verify`)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from bot.cli_audit import register
from bot.settings import Settings
from graphs.governance.approval_records import AuditNote, compute_digest
from graphs.governance.approval_tables import ApprovalRow
from graphs.governance.approvals import ApprovalStore
from graphs.governance.audit import DEVELOPMENT_KEY, GENESIS, AuditLog, AuditRow, _fields, _seal
from graphs.governance.audit_anchor import read_anchors, write_anchor
from graphs.governance.audit_check import find_gaps

KEY = b"a-test-audit-key-that-is-long-enough"
BOB, CAROL = "bob.martin@example.com", "carol.diaz@example.com"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOLD = {"invoice_id": "INV-10077", "reason": "Duplicate invoice"}


def tamper(engine: Engine, sql: str, **params: object) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        conn.execute(text(sql), params)
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))


def fill(log: AuditLog, n: int = 6) -> None:
    for i in range(n):
        log.append("tool_call", actor="bob.martin@example.com", payload={"n": i})


def reseal_everything(engine: Engine, sessions: sessionmaker[Session], key: bytes, actor_of_3: str) -> None:
    """A forger with write access but not our key edits entry 3 and rebuilds the whole chain."""
    with sessions() as session:
        rows = list(session.execute(select(AuditRow).order_by(AuditRow.seq)).scalars())
        session.expunge_all()
    prev = GENESIS
    for row in rows:
        if row.seq == 3:
            row.actor = actor_of_3
        row.prev_hash = prev
        row.hash = _seal(key, prev, _fields(row))
        prev = row.hash
        tamper(
            engine,
            "UPDATE audit_log SET actor = :a, prev_hash = :p, hash = :h WHERE seq = :s",
            a=row.actor,
            p=row.prev_hash,
            h=row.hash,
            s=row.seq,
        )


def test_a_chain_rebuilt_without_the_key_is_detected(engine: Engine, sessions: sessionmaker[Session]) -> None:
    log = AuditLog(sessions, KEY)
    fill(log)
    assert log.verify().ok
    reseal_everything(engine, sessions, DEVELOPMENT_KEY, "mallory@example.com")
    result = log.verify()
    assert (result.ok, result.first_bad_seq) == (False, 1)
    assert AuditLog(sessions, DEVELOPMENT_KEY).verify().ok  # the forgery is self-consistent: only the key tells


def test_truncation_is_detected_against_an_anchor(
    engine: Engine, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    log = AuditLog(sessions, KEY)
    anchor = tmp_path / "audit-anchor.jsonl"
    fill(log, 4)
    assert write_anchor(log, anchor) == log.head()
    assert write_anchor(log, anchor) is None  # nothing new: no duplicate line
    fill(log, 2)
    write_anchor(log, anchor)
    assert set(read_anchors(anchor)) == {4, 6} and log.verify(read_anchors(anchor)).ok
    tamper(engine, "DELETE FROM audit_log WHERE seq >= 5")
    assert log.verify().ok  # the chain alone can't see its end cut off
    result = log.verify(read_anchors(anchor))
    assert (result.ok, result.first_bad_seq) == (False, 6)
    assert result.problem is not None and "cut off" in result.problem


def run_cli(db_url: str, tmp_path: Path, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="deskhand")
    settings = Settings(DATABASE_URL=db_url, data_dir=tmp_path, audit_key=KEY.decode())  # type: ignore[call-arg]
    register(parser.add_subparsers(dest="command", required=True), lambda: settings)
    args = parser.parse_args(list(argv))
    return int(args.func(args))


@pytest.mark.parametrize("attack", ["edit", "rehash", "truncate", "rebuild_after_anchor"])
def test_cli_verify_with_an_anchor_detects_every_attack(
    db_url: str, engine: Engine, sessions: sessionmaker[Session], tmp_path: Path, attack: str, capsys: Any
) -> None:
    log = AuditLog(sessions, KEY)
    fill(log)
    anchor = tmp_path / "anchor.jsonl"
    assert run_cli(db_url, tmp_path, "audit", "anchor", "--file", str(anchor)) == 0
    assert run_cli(db_url, tmp_path, "audit", "verify", "--anchor", str(anchor)) == 0
    assert "against 1 anchor(s)" in capsys.readouterr().out
    if attack == "edit":
        tamper(engine, "UPDATE audit_log SET actor = 'mallory@example.com' WHERE seq = 2")
    elif attack == "rehash":
        reseal_everything(engine, sessions, DEVELOPMENT_KEY, "mallory@example.com")
    elif attack == "truncate":
        tamper(engine, "DELETE FROM audit_log WHERE seq = 6")
    else:  # even with the key, a rebuilt history no longer matches the anchored head
        reseal_everything(engine, sessions, KEY, "mallory@example.com")
    assert run_cli(db_url, tmp_path, "audit", "verify", "--anchor", str(anchor)) == 1
    assert "BROKEN" in capsys.readouterr().out


def make(store: ApprovalStore) -> Any:
    return store.create(
        tool="hold_payment",
        args=HOLD,
        requester=BOB,
        rule_id="hold-payment",
        mode="approve",
        reason="Payment holds need an AP lead.",
        approvers=(CAROL,),
        required=1,
        channel="slack",
        conversation_ref={"channel": "C1"},
        ttl=timedelta(hours=1),
        now=NOW,
    )


class Boom(Exception):
    pass


def test_a_failed_audit_write_rolls_the_state_change_back(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """One transaction: a decision whose audit entry can't be written didn't happen."""
    log = AuditLog(sessions, KEY)
    store = ApprovalStore(sessions, log)
    approval = make(store)

    def broken(*_a: Any, **_k: Any) -> str:
        raise Boom

    monkeypatch.setattr(log, "append_in", broken)
    with pytest.raises(Boom):
        store.decide(approval.id, CAROL, True, now=NOW)
    with pytest.raises(Boom):
        make(store)
    monkeypatch.undo()
    current = store.get(approval.id)
    assert current is not None and current.status == "pending" and current.decisions == ()
    with sessions() as s:
        assert s.execute(select(ApprovalRow.id)).scalars().all() == [approval.id]
    assert find_gaps(sessions) == []


def test_every_step_of_an_approval_has_its_entry_and_gaps_are_reported(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    log = AuditLog(sessions, KEY)
    store = ApprovalStore(sessions, log)
    approval = make(store)
    assert store.decide(approval.id, CAROL, True, now=NOW).became == "approved"
    digest = compute_digest("hold_payment", HOLD)
    assert store.claim_execution(approval.id, digest, NOW, audit=AuditNote(actor="system"))
    store.finish_execution(approval.id, True, {"held": True}, NOW)
    assert find_gaps(sessions) == [] and log.verify().ok
    kinds = [e.kind for e in log.tail(10)]
    assert kinds == ["approval_requested", "approval_decision", "execution", "execution"]
    # A state change written behind the log's back (the old two-transaction path after a crash):
    with engine.begin() as conn:
        conn.execute(text("UPDATE approvals SET attempts = 2 WHERE id = :i"), {"i": approval.id})
    gaps = find_gaps(sessions)
    assert len(gaps) == 1 and "execution attempt" in gaps[0]
