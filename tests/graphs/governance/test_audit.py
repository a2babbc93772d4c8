"""The hash-chained audit log: verification, tamper detection, concurrent writers, the CLI."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from bot.cli_audit import register
from bot.settings import Settings
from graphs.governance.audit import DEVELOPMENT_KEY, GENESIS, AuditLog, AuditRow, VerifyResult, _fields, _seal

ROOT = Path(__file__).resolve().parents[3]
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def log(sessions: sessionmaker[Session]) -> AuditLog:
    return AuditLog(sessions)


def fill(log: AuditLog, n: int = 6) -> list[str]:
    kinds = ["answer", "tool_call", "policy_decision", "approval_requested", "approval_decision", "execution"]
    return [
        log.append(
            kinds[i % len(kinds)],
            actor="bob.martin@example.com",
            request_id=f"req-{i}",
            payload={"n": i, "amount": Decimal("48250.00"), "tool": "hold_payment", "note": "Zoë"},
            policy_version="abc123def456",
        )
        for i in range(n)
    ]


def tamper(engine: Engine, sql: str, **params: object) -> None:
    """Change rows behind the log's back (PostgreSQL: with its append-only trigger switched off)."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        conn.execute(text(sql), params)
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))


def test_an_untouched_chain_verifies(log: AuditLog) -> None:
    assert log.verify() == VerifyResult(True, 0, head_hash=GENESIS)
    ids = fill(log)
    result = log.verify()
    assert (result.ok, result.checked, result.first_bad_seq, result.problem) == (True, 6, None, None)
    entries = log.tail(10)
    assert [e.id for e in entries] == ids and [e.seq for e in entries] == [1, 2, 3, 4, 5, 6]
    assert entries[0].prev_hash == GENESIS and all(b.prev_hash == a.hash for a, b in pairwise(entries))
    assert result.head_hash == entries[-1].hash
    assert entries[2].payload == {"n": 2, "amount": "48250.00", "tool": "hold_payment", "note": "Zoë"}
    assert (entries[2].kind, entries[2].actor, entries[2].policy_version) == (
        "policy_decision",
        "bob.martin@example.com",
        "abc123def456",
    )
    assert [e.seq for e in log.tail(2)] == [5, 6]
    assert log.get(ids[3]) == entries[3] and log.get("aud_missing") is None


def test_unknown_kinds_are_refused(log: AuditLog) -> None:
    with pytest.raises(ValueError, match="unknown audit kind"):
        log.append("approved_everything", actor="x")
    assert log.tail(5) == []


def test_explicit_time_is_recorded(log: AuditLog) -> None:
    log.append("feedback", actor="ivy.chen@example.com", payload={"helpful": True}, now=NOW)
    assert log.tail(1)[0].at == NOW and log.verify().ok


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("payload", '{"amount":"1.00","n":2,"note":"Zo\\u00eb","tool":"hold_payment"}'),
        ("actor", "carol.diaz@example.com"),
        ("kind", "feedback"),
        ("policy_version", "000000000000"),
        ("request_id", None),
    ],
)
def test_an_edited_entry_is_detected(engine: Engine, log: AuditLog, column: str, value: str | None) -> None:
    fill(log)
    tamper(engine, f"UPDATE audit_log SET {column} = :v WHERE seq = 3", v=value)  # noqa: S608
    result = log.verify()
    assert (result.ok, result.first_bad_seq, result.checked) == (False, 3, 2)
    assert result.problem == "entry 3 was changed after it was written"


def test_an_edit_that_reseals_its_own_hash_breaks_the_next_link(
    engine: Engine, log: AuditLog, sessions: sessionmaker[Session]
) -> None:
    fill(log)
    with sessions() as session:  # the forger recomputes entry 3's hash after editing it (not committed)
        row = session.get(AuditRow, 3)
        assert row is not None
        row.actor = "mallory@example.com"
        forged = _seal(DEVELOPMENT_KEY, row.prev_hash, _fields(row))
    tamper(engine, "UPDATE audit_log SET actor = 'mallory@example.com', hash = :h WHERE seq = 3", h=forged)
    result = log.verify()
    assert (result.ok, result.first_bad_seq, result.problem) == (False, 4, "entry 4 does not link to entry 3")


@pytest.mark.parametrize(("seq", "bad"), [(1, 1), (3, 3)])
def test_a_deleted_entry_is_detected(engine: Engine, log: AuditLog, seq: int, bad: int) -> None:
    fill(log)
    tamper(engine, "DELETE FROM audit_log WHERE seq = :s", s=seq)
    result = log.verify()
    assert (result.ok, result.first_bad_seq) == (False, bad)
    assert result.problem == f"entry {bad} is missing (the next one is {bad + 1})"


def test_deleting_and_renumbering_is_detected(engine: Engine, log: AuditLog) -> None:
    fill(log)
    tamper(engine, "DELETE FROM audit_log WHERE seq = 3")
    for seq in (4, 5, 6):
        tamper(engine, "UPDATE audit_log SET seq = :new WHERE seq = :old", new=seq - 1, old=seq)
    result = log.verify()
    assert (result.ok, result.first_bad_seq) == (False, 3)


def test_reordered_entries_are_detected(engine: Engine, log: AuditLog) -> None:
    fill(log)
    tamper(engine, "UPDATE audit_log SET seq = 100 WHERE seq = 2")
    tamper(engine, "UPDATE audit_log SET seq = 2 WHERE seq = 4")
    tamper(engine, "UPDATE audit_log SET seq = 4 WHERE seq = 100")
    result = log.verify()
    assert (result.ok, result.first_bad_seq) == (False, 2)


def test_removing_the_newest_entries_changes_the_head_hash(engine: Engine, log: AuditLog) -> None:
    """A chain alone can't see its end cut off; comparing the head with a recorded copy does."""
    fill(log)
    anchor = log.verify().head_hash
    tamper(engine, "DELETE FROM audit_log WHERE seq = 6")
    after = log.verify()
    assert after.ok and after.checked == 5 and after.head_hash != anchor


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
@pytest.mark.parametrize(
    "sql", ["UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log WHERE seq = 1", "TRUNCATE audit_log"]
)
def test_postgres_refuses_changes_to_the_log(engine: Engine, log: AuditLog, sql: str) -> None:
    fill(log, 2)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text(sql))
    assert log.verify().checked == 2


def test_concurrent_appends_from_threads_keep_one_chain(log: AuditLog) -> None:
    writers, each = 4, 15
    barrier = threading.Barrier(writers)

    def write(w: int) -> None:
        barrier.wait(timeout=30)
        for i in range(each):
            log.append("tool_call", actor=f"writer{w}", payload={"i": i})

    with ThreadPoolExecutor(writers) as pool:
        list(pool.map(write, range(writers)))
    result = log.verify()
    assert (result.ok, result.checked) == (True, writers * each)


CHILD = """
import sys, time
from pathlib import Path
from tools.storage.db import build_engine, build_sessionmaker
from graphs.governance.audit import AuditLog
url, name, count, go, ready = sys.argv[1:6]
log = AuditLog(build_sessionmaker(build_engine(url)))
log.tail(1)  # connect before the start signal
Path(ready).touch()
deadline = time.monotonic() + 60
while not Path(go).exists() and time.monotonic() < deadline:
    time.sleep(0.001)
for i in range(int(count)):
    log.append("execution", actor=name, payload={"i": i})
"""


def wait_for(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_concurrent_appends_from_processes_keep_one_chain(db_url: str, log: AuditLog, tmp_path: Path) -> None:
    processes, each = 3, 20
    go = tmp_path / "go"
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, db_url, f"proc{p}", str(each), str(go), str(tmp_path / f"ready{p}")],
            cwd=ROOT,
        )
        for p in range(processes)
    ]
    wait_for(lambda: all((tmp_path / f"ready{p}").exists() for p in range(processes)))
    go.touch()
    for i in range(each):  # this process writes too
        log.append("execution", actor="parent", payload={"i": i})
    assert [child.wait(timeout=120) for child in children] == [0] * processes
    result = log.verify()
    assert (result.ok, result.checked) == (True, (processes + 1) * each)
    actors = [e.actor for e in log.tail((processes + 1) * each)]
    assert sorted(set(actors)) == ["parent", "proc0", "proc1", "proc2"]


# --- CLI ------------------------------------------------------------------------------------------
def run_cli(db_url: str, tmp_path: Path, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="deskhand")
    register(
        parser.add_subparsers(dest="command", required=True),
        lambda: Settings(DATABASE_URL=db_url, data_dir=tmp_path),  # type: ignore[call-arg]
    )
    args = parser.parse_args(list(argv))
    return int(args.func(args))


def test_cli_verify_and_tail(
    db_url: str,
    engine: Engine,
    log: AuditLog,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "240")  # a wide terminal, so table cells are not folded
    fill(log)
    assert run_cli(db_url, tmp_path, "audit", "verify") == 0
    assert "Audit log chain OK: 6 entries verified" in capsys.readouterr().out

    assert run_cli(db_url, tmp_path, "audit", "tail", "-n", "2", "--json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["seq"] for r in rows] == [5, 6] and rows[0]["payload"]["amount"] == "48250.00"

    assert run_cli(db_url, tmp_path, "audit", "tail", "-n", "3") == 0
    table = capsys.readouterr().out
    assert "approval_decision" in table and "execution" in table and "req-3" in table and "req-2" not in table

    tamper(engine, "UPDATE audit_log SET payload = '{}' WHERE seq = 4")
    assert run_cli(db_url, tmp_path, "audit", "verify") == 1
    out = capsys.readouterr().out
    assert "BROKEN at entry 4" in out and "changed after it was written" in out
