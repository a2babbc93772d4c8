"""The quick approvals read path (`approvals list|show`) shows what the agent's view shows, from the
database alone: bank numbers masked, the true state, overdue requests marked (real processes, SQLite)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from bot.cli_approvals import masked_fields
from bot.cli_db import head_revision
from bot.settings import DEFAULT_POLICY, DEFAULT_SAMPLE_DATA
from graphs.governance.approvals import ApprovalStore
from graphs.governance.policy import Policy
from tools.catalog import build_tools
from tools.directory import build_directory
from tools.ledger import Ledger
from tools.storage.db import MIGRATIONS, build_engine, build_sessionmaker, migrate
from tools.tool_env import ToolEnv

ROOT = Path(__file__).resolve().parents[2]


def test_head_revision_is_alembics_head() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    assert head_revision() == ScriptDirectory.from_config(cfg).get_current_head()


async def test_the_quick_path_masks_exactly_what_the_full_catalogue_masks(tmp_path: Path) -> None:
    directory = build_directory(None, None, tmp_path, DEFAULT_SAMPLE_DATA)
    try:  # the catalogue as the runtime builds it, over live clients
        tools = build_tools(ToolEnv(directory, Ledger(None), Policy.load(DEFAULT_POLICY)))  # type: ignore[arg-type]
    finally:
        await directory.aclose()
    quick = masked_fields()
    assert any(quick.values())  # something is masked at all (the bank numbers)
    for name, spec in tools.items():
        assert quick.get(name, frozenset()) == spec.masked_fields, name


def _env(tmp: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DESKHAND_DATA_DIR": str(tmp / "data")}
    for name in ("DATABASE_URL", "REDIS_URL"):
        env.pop(name, None)
    return env


def _cli(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=tmp, env=_env(tmp), capture_output=True, text=True, timeout=120
    )


def test_show_and_list_read_the_true_state_masked(tmp_path: Path) -> None:
    engine = build_engine(f"sqlite:///{tmp_path / 'data' / 'deskhand.db'}")
    try:
        migrate(engine)
        store = ApprovalStore(build_sessionmaker(engine))
        created = store.create(
            tool="vendor_bank_change",
            args={"vendor": "Acme", "account_number": "12345678", "routing_number": "021000021"},
            requester="frank.li@example.com",
            rule_id="bank",
            mode="four_eyes",
            reason="bank details change",
            title="Change Acme's bank details",
            approvers=["dan.kim@example.com", "carol.diaz@example.com"],
            required=2,
            channel="local",
            conversation_ref={},
            ttl=timedelta(hours=1),
            now=datetime.now(UTC) - timedelta(hours=2),  # created two hours ago: overdue, not yet swept
        )
        assert store.reassign(created, ["dan.kim@example.com"])  # Carol left: two needed, one eligible
        executing = store.create(
            tool="hold_payment",
            args={"invoice_id": "INV-10042", "reason": "check"},
            requester="frank.li@example.com",
            rule_id="ap",
            mode="approve",
            reason="hold",
            approvers=["dan.kim@example.com"],
            required=1,
            channel="local",
            conversation_ref={},
            ttl=timedelta(hours=1),
        )
        with engine.begin() as conn:
            conn.execute(text("update approvals set status = 'executing' where id = :id"), {"id": executing.id})
    finally:
        engine.dispose()

    shown = _cli(tmp_path, "approvals", "show", created.id)
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["arguments"]["account_number"] == "••••5678"
    assert data["arguments"]["routing_number"] == "••••0021"
    assert "12345678" not in shown.stdout
    assert data["status"] == "pending" and data["overdue"] is True
    assert "dan.kim@example.com" in data["reason"] and data["reason"] != "bank details change"  # unreachable note

    listed = json.loads(_cli(tmp_path, "approvals", "list", "--status", "all", "--json").stdout)
    by_id = {item["approval_id"]: item for item in listed}
    assert by_id[executing.id]["status"] == "executing" and by_id[executing.id]["overdue"] is False
    assert by_id[created.id]["arguments"] == data["arguments"]

    text_list = _cli(tmp_path, "approvals", "list").stdout
    assert created.id in text_list and "overdue since" in text_list
    assert executing.id not in text_list  # only pending ones by default
    assert executing.id in _cli(tmp_path, "approvals", "list", "--status", "executing").stdout
