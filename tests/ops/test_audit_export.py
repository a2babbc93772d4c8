"""`deskhand audit export`: JSON lines since a time, in chain order, with clear errors for bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.cli_audit_export import parse_since
from graphs.governance.audit import AuditLog
from tools.storage.db import build_engine, build_sessionmaker, migrate


@pytest.fixture
def audit_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, restore_logging: None) -> AuditLog:
    # `main` configures the CLI's logging (a handler on the root logger, warnings captured): undone after.
    monkeypatch.setenv("DESKHAND_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    engine = build_engine(f"sqlite:///{(tmp_path / 'deskhand.db').resolve()}")
    migrate(engine)
    return AuditLog(build_sessionmaker(engine))


def test_export_writes_entries_since_the_given_time_as_json_lines(audit_dir: AuditLog, capsys):
    now = datetime.now(UTC)
    for days, kind in ((10, "answer"), (3, "tool_call"), (1, "feedback")):
        audit_dir.append(
            kind, actor="bob@example.com", request_id=f"r{days}", payload={"n": days}, now=now - timedelta(days=days)
        )
    assert main(["audit", "export", "--since", "5d", "--format", "jsonl"]) == 0
    out, err = capsys.readouterr()
    lines = [json.loads(line) for line in out.splitlines()]
    assert [e["kind"] for e in lines] == ["tool_call", "feedback"]
    assert lines[0]["payload"] == {"n": 3} and lines[0]["request_id"] == "r3"
    assert lines[1]["prev_hash"] == lines[0]["hash"], "chain fields let the SIEM check continuity"
    assert "exported 2 audit entries" in err

    since = (now - timedelta(days=11)).date().isoformat()
    until = (now - timedelta(days=2)).isoformat()
    assert main(["audit", "export", "--since", since, "--until", until]) == 0
    assert [json.loads(line)["kind"] for line in capsys.readouterr()[0].splitlines()] == ["answer", "tool_call"]


@pytest.mark.parametrize("bad", ["yesterday", "5 days", "2026-13-01"])
def test_a_bad_since_is_a_clear_error(audit_dir: AuditLog, capsys, bad: str):
    assert main(["audit", "export", "--since", bad]) == 2
    err = capsys.readouterr()[1]
    assert "--since" in err and "Traceback" not in err


def test_relative_and_absolute_times():
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    assert parse_since("30m", now) == now - timedelta(minutes=30)
    assert parse_since("2026-11-01", now) == datetime(2026, 11, 1, tzinfo=UTC)
    assert parse_since("2026-11-01T10:00+02:00", now) == datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
