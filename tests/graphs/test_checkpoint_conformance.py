"""The checkpointer configurations Deskhand ships pass LangGraph's conformance suite (async methods)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import psycopg
from langgraph.checkpoint.conformance import checkpointer_test, validate

from graphs.checkpoint import open_checkpointer

PG_URL = os.environ.get("DESKHAND_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/deskhand_test")


def _failures(report) -> dict[str, list[str]]:
    return {cap: r.failures for cap, r in report.results.items() if r.detected and r.passed is False}


async def test_sqlite_checkpointer_conforms(tmp_path: Path):
    @checkpointer_test(name="deskhand-sqlite")
    async def factory():
        async with open_checkpointer(None, tmp_path / f"{uuid.uuid4().hex}.sqlite") as saver:
            yield saver

    report = await validate(factory)
    assert report.passed_all_base(), _failures(report)
    assert report.passed_all(), _failures(report)


async def test_postgres_checkpointer_conforms():
    database = f"deskhand_cp_{uuid.uuid4().hex[:8]}"
    admin = PG_URL.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    url = PG_URL.rsplit("/", 1)[0] + f"/{database}"
    try:

        @checkpointer_test(name="deskhand-postgres")
        async def factory():
            async with open_checkpointer(url, Path("unused")) as saver:
                yield saver
                async with saver.conn.connection() as conn:  # a fresh schema per capability suite
                    for table in ("checkpoints", "checkpoint_blobs", "checkpoint_writes"):
                        await conn.execute(f"TRUNCATE {table}")

        report = await validate(factory)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    assert report.passed_all_base(), _failures(report)
    assert report.passed_all(), _failures(report)
