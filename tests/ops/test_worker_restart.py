"""`deskhand worker` on PostgreSQL as real processes: a job whose worker is killed mid-run is retried by
another worker and completes exactly once; the web side refuses an un-upgraded database."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from bot.queue import ProcrastinateQueue, build_procrastinate_app
from tests.conftest import postgres_schema
from tests.ops.processes import LoggedProcess, deskhand

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(900)]
CORPUS = Path(__file__).resolve().parents[2] / "knowledge" / "corpus"


@pytest.fixture
def pg_schema_url(pg_base_url: str) -> Iterator[str]:
    with postgres_schema(pg_base_url, "ops") as url:
        yield url


def _env(tmp: Path, url: str, index: Path, docs: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "DESKHAND_DATA_DIR": str(tmp / "data"),
        "DESKHAND_INDEX_DIR": str(index),
        "DESKHAND_KNOWLEDGE_DIR": str(docs),
        "DESKHAND_WORKER_HEARTBEAT_SECONDS": "1",
        "DESKHAND_LOG_LEVEL": "INFO",
        "DESKHAND_LOG_FORMAT": "json",
    }


def _docs(tmp: Path) -> Path:
    """The sample handbook plus enough new pages that re-indexing takes a few seconds of embedding."""
    docs = tmp / "docs"
    shutil.copytree(CORPUS, docs)
    words = ["travel", "expense", "receipts", "approval", "laptop", "onboarding", "payroll", "vendor", "invoice"]
    for n in range(25):
        body = " ".join(words[(n + i) % len(words)] + str(i % 7) for i in range(400))
        (docs / f"extra-{n:02d}.md").write_text(f"# Extra page {n}\n\n{body}\n", encoding="utf-8")
    return docs


def _query(url: str, sql: str) -> list[tuple]:
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True, connect_timeout=5) as conn:
        return list(conn.execute(sql).fetchall())  # type: ignore[arg-type]


def _poll(condition, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def _enqueue(url: str, key: str, timestamp: int) -> None:
    app = build_procrastinate_app(url, max_pool=1)
    async with app.open_async():
        await ProcrastinateQueue(app).enqueue("build_index", key=key, timestamp=timestamp)


def test_a_killed_worker_job_completes_once_on_another_worker(tmp_path: Path, pg_schema_url: str, sample_index: Path):
    index = tmp_path / "index"
    shutil.copytree(sample_index, index)
    env = _env(tmp_path, pg_schema_url, index, _docs(tmp_path))

    refused = subprocess.run(deskhand("worker"), env=env, capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and "deskhand db upgrade" in refused.stderr  # no silent migration

    upgraded = subprocess.run(deskhand("db", "upgrade"), env=env, capture_output=True, text=True, timeout=300)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "job queue tables: created" in upgraded.stdout

    first = LoggedProcess(deskhand("worker"), env)
    second: LoggedProcess | None = None
    try:
        first.wait_line("Deskhand worker started")
        asyncio.run(_enqueue(pg_schema_url, "index:manual", 4242))
        _poll(
            lambda: _query(
                pg_schema_url, "SELECT 1 FROM procrastinate_jobs WHERE task_name='build_index' AND status='doing'"
            ),
            120,
            "the index build to start",
        )
        first.kill()  # mid-job: embedding the new pages
        assert _query(pg_schema_url, "SELECT count(*) FROM job_runs WHERE key='index:4242'") == [(0,)]

        second = LoggedProcess(deskhand("worker"), env)
        _poll(
            lambda: _query(pg_schema_url, "SELECT count(*) FROM job_runs WHERE key='index:4242'") == [(1,)],
            300,
            "the retried index build to finish",
        )
        second.wait_line("retrying job .*build_index", timeout=10)
        jobs = _query(pg_schema_url, "SELECT status, attempts FROM procrastinate_jobs WHERE task_name='build_index'")
        assert jobs == [], f"the job should be done and deleted, found {jobs}"
        published = second.wait_line("scheduled index build published version", timeout=10)
        assert len(published) == 1
        current = (index / "CURRENT").read_text(encoding="utf-8").strip()
        assert "extra-00.md" in (index / "versions" / current / "manifest.json").read_text(encoding="utf-8")
    finally:
        first.kill()
        if second is not None:
            second.stop()
