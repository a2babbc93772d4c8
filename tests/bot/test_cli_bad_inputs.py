"""Bad command-line inputs end in one clear error line and a non-zero exit, never a traceback (real processes)."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[2]
Setup = Callable[[Path], dict[str, str]]  # prepares files under the case's folder; returns extra env


@dataclass(frozen=True)
class Case:
    name: str
    args: list[str]
    expect: str  # a phrase of the error line (case-insensitive)
    setup: Setup = field(default=lambda _tmp: {})


def _write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


def _only_unsupported(tmp: Path) -> dict[str, str]:
    _write(tmp / "docs" / "slides.pptx", b"PK\x03\x04")
    return {}


def _empty_folder(tmp: Path) -> dict[str, str]:
    (tmp / "docs").mkdir()
    return {}


def _corrupt_index(tmp: Path) -> dict[str, str]:
    _write(tmp / "idx" / "CURRENT", "v-does-not-exist")
    return {}


def _latin1_dotenv(tmp: Path) -> dict[str, str]:
    _write(tmp / ".env", "DESKHAND_ENV=d\xe9veloppement\n".encode("latin-1"))
    return {}


def _latin1_batch(tmp: Path) -> dict[str, str]:
    _write(tmp / "questions.txt", "combien de cong\xe9s ?\n".encode("latin-1"))
    return {}


def _pending_approval(tmp: Path) -> None:
    """An approval `apr_cli` in the case's database: deciding it opens the whole runtime (the quick
    read commands don't, so they can't show start-up errors of the sample data or the policy)."""
    from graphs.governance.approvals import ApprovalStore
    from tools.storage.db import build_engine, build_sessionmaker, migrate

    engine = build_engine(f"sqlite:///{tmp / 'data' / 'deskhand.db'}")
    try:
        migrate(engine)
        store = ApprovalStore(build_sessionmaker(engine))
        approval = store.create(
            tool="hold_payment",
            args={"invoice_id": "INV-10042", "reason": "check"},
            requester="frank.li@example.com",
            rule_id="ap",
            mode="approve",
            reason="test",
            approvers=["dan.kim@example.com"],
            required=1,
            channel="local",
            conversation_ref={},
            ttl=timedelta(hours=1),
        )
        with engine.begin() as conn:
            conn.execute(text("update approvals set id = 'apr_cli' where id = :id"), {"id": approval.id})
    finally:
        engine.dispose()


DECIDE = ["approvals", "decide", "apr_cli", "--as", "dan.kim@example.com", "--approve"]


def _no_sample_data(tmp: Path) -> dict[str, str]:
    _pending_approval(tmp)
    return {"DESKHAND_SAMPLE_DATA": str(tmp / "no-such-folder")}


def _broken_sample_data(tmp: Path) -> dict[str, str]:
    _pending_approval(tmp)
    _write(tmp / "sample" / "directory.yaml", "people: [unclosed\n")
    _write(tmp / "sample" / "ledger.yaml", "vendors: []\n")
    return {"DESKHAND_SAMPLE_DATA": str(tmp / "sample")}


def _missing_policy(tmp: Path) -> dict[str, str]:
    _pending_approval(tmp)
    return {"DESKHAND_POLICY_FILE": str(tmp / "policy.yaml")}


def _policy_without_a_tools_rule(tmp: Path) -> dict[str, str]:
    _pending_approval(tmp)
    shipped = (ROOT / "graphs" / "governance" / "policy.yaml").read_text(encoding="utf-8")
    head, rest = shipped.split("  release_hold:\n", 1)
    after = rest[rest.index("\n  vendor_bank_change:") :]  # the release_hold rules dropped, nothing else
    return {"DESKHAND_POLICY_FILE": str(_write(tmp / "policy.yaml", head + after.lstrip("\n")))}


def _corrupt_audit_row(tmp: Path) -> dict[str, str]:
    env = {"DESKHAND_DATA_DIR": str(tmp / "data")}
    subprocess.run([sys.executable, "-m", "bot", "audit", "verify"], env=_env(tmp, env), cwd=tmp, check=True)
    with sqlite3.connect(tmp / "data" / "deskhand.db") as db:
        [table] = [
            r[0] for r in db.execute("select name from sqlite_master where name like '%audit%' and type='table'")
        ]
        columns = [r[1] for r in db.execute(f"pragma table_info({table})")]
        values = {c: "x" for c in columns if c not in ("seq",)} | {"payload": "{not json", "at": "not a time"}
        names = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        insert = f"insert into {table} ({names}) values ({marks})"  # noqa: S608  (names from the schema)
        db.execute(insert, list(values.values()))
    return env


CASES = [
    Case("index build, empty folder", ["index", "build", "--source", "docs", "--quiet"], "no documents", _empty_folder),
    Case(
        "index build, only unsupported files",
        ["index", "build", "--source", "docs", "--quiet"],
        "no documents",
        _only_unsupported,
    ),
    Case("index build, missing folder", ["index", "build", "--source", "nope", "--quiet"], "not found"),
    Case("index status, no index", ["index", "status", "--index", "nowhere"], "no knowledge index"),
    Case("index status, corrupt index", ["index", "status", "--index", "idx"], "index", _corrupt_index),
    Case("config, non-UTF-8 .env", ["config"], "not UTF-8", _latin1_dotenv),
    Case("approvals list, non-UTF-8 .env", ["approvals", "list"], "not UTF-8", _latin1_dotenv),
    Case("ask, non-UTF-8 batch file", ["ask", "--json", "--batch", "questions.txt"], "UTF-8", _latin1_batch),
    Case("ask, missing batch file", ["ask", "--json", "--batch", "nope.txt"], "nope.txt"),
    Case("approvals decide, missing sample data", DECIDE, "no-such-folder", _no_sample_data),
    Case("approvals decide, broken sample data", DECIDE, "directory.yaml", _broken_sample_data),
    Case("approvals decide, missing policy", DECIDE, "policy", _missing_policy),
    Case(
        "approvals decide, a tool without a policy rule",
        DECIDE,
        "'release_hold' changes data",
        _policy_without_a_tools_rule,
    ),
    Case("approvals show, unknown id", ["approvals", "show", "apr_nope"], "no approval"),
    Case(
        "approvals decide, unknown id",
        ["approvals", "decide", "apr_nope", "--as", "a@example.com", "--approve"],
        "no approval",
    ),
    Case(
        "approvals decide, reject without a reason",
        ["approvals", "decide", "apr_nope", "--as", "dan.okafor@example.com", "--reject"],
        "--reason",
    ),
    Case("audit tail, corrupt row", ["audit", "tail", "-n", "5"], "audit", _corrupt_audit_row),
    Case("audit tail, bad -n", ["audit", "tail", "-n", "0"], "at least 1"),
    Case("ask, empty question", ["ask", "  "], "question"),
    Case("unknown command", ["frobnicate"], "invalid choice"),
    Case("PORT not a number", ["serve"], "PORT", lambda _tmp: {"PORT": "eighty"}),
    Case("teams-package without an app id", ["teams-package"], "MICROSOFT_APP_ID"),
    Case("serve --slack-socket-mode without Slack", ["serve", "--port", "0", "--slack-socket-mode"], "SLACK_APP_TOKEN"),
    Case("llm check without a model", ["llm", "check"], "DESKHAND_LLM_MODEL"),
]


def _env(tmp: Path, extra: dict[str, str]) -> dict[str, str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DESKHAND_DATA_DIR": str(tmp / "data"),
        "DESKHAND_CACHE_DIR": str(tmp / "cache"),
        "DESKHAND_INDEX_DIR": str(tmp / "no-index"),
    }
    for name in ("DATABASE_URL", "REDIS_URL", "SLACK_BOT_TOKEN", "MICROSOFT_APP_ID", "PORT"):
        env.pop(name, None)
    return env | extra


def _run(args: list[str], tmp: Path, extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp,
        env=_env(tmp, extra),
        capture_output=True,
        text=True,
        timeout=240,
    )


def _check(done: subprocess.CompletedProcess[str], expect: str) -> None:
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output
    assert done.returncode != 0, output
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines, "no error message"
    matching = [line for line in lines if expect.lower() in line.lower()]
    assert matching, f"no line mentions {expect!r}: {lines}"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_bad_input_gives_one_clear_line(case: Case, tmp_path: Path) -> None:
    extra = case.setup(tmp_path)
    _check(_run(case.args, tmp_path, extra), case.expect)


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def test_serve_on_a_port_in_use(tmp_path: Path, busy_port: int) -> None:
    _check(_run(["serve", "--port", str(busy_port)], tmp_path, {}), "in use")


def test_a_reader_that_goes_away_is_not_an_unexpected_error(tmp_path: Path) -> None:
    # `deskhand config | head -0`: the pipe's read end is closed before the command prints anything, so its
    # first write fails with EPIPE. That is the reader's choice, not a failure to report with a reference id.
    read, write = os.pipe()
    os.close(read)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "bot", "config"],
            cwd=tmp_path,
            env=_env(tmp_path, {}),
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=240,
        )
    finally:
        os.close(write)
    assert proc.returncode == 141, proc.stderr
    assert "unexpected error" not in proc.stderr
    assert "Traceback" not in proc.stderr


def test_an_empty_json_listing_prints_no_prose(tmp_path: Path) -> None:
    # `--json` output is for programs: no hand-offs is no JSON lines, not "No hand-offs.".
    done = _run(["handoffs", "list", "--json"], tmp_path, {})
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    table = _run(["handoffs", "list"], tmp_path, {})
    assert table.stdout.strip() == "No hand-offs."


def test_an_unknown_variable_is_warned_about_once(tmp_path: Path) -> None:
    done = _run(["config"], tmp_path, {"DESKHAND_KNOWLEDGE_DIRS": "docs"})
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("DESKHAND_KNOWLEDGE_DIRS is not a Deskhand setting") == 1, done.stderr
