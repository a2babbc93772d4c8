"""Durable LangGraph checkpointers: SQLite for one process, PostgreSQL for several."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver


def open_checkpointer(
    database_url: str | None, sqlite_path: Path, *, setup: bool = True
) -> AbstractAsyncContextManager[BaseCheckpointSaver[Any]]:
    """PostgreSQL (`langgraph-checkpoint-postgres`) when the database is PostgreSQL, else a SQLite file.

    `setup=False` skips creating the PostgreSQL tables (processes starting together would race on it;
    `deskhand db upgrade` creates them once)."""
    if database_url and database_url.startswith(("postgresql", "postgres")):
        return _postgres(database_url, setup)
    return _sqlite(sqlite_path)


@asynccontextmanager
async def _sqlite(path: Path):  # type: ignore[no-untyped-def]
    import aiosqlite
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    path.parent.mkdir(parents=True, exist_ok=True)
    async with aiosqlite.connect(str(path), timeout=30) as conn:
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA busy_timeout=30000")
        saver = AsyncSqliteSaver(conn)
        await saver.setup()
        yield saver


@asynccontextmanager
async def _postgres(url: str, setup: bool):  # type: ignore[no-untyped-def]
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from psycopg.rows import dict_row
    from psycopg_pool import AsyncConnectionPool

    url = url.replace("postgresql+psycopg://", "postgresql://")
    async with AsyncConnectionPool(
        url,
        min_size=1,
        max_size=5,
        open=False,
        timeout=5.0,  # a down database fails the turn in seconds (then bot.degraded answers without it)
        kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row, "connect_timeout": 3},
    ) as pool:
        saver = AsyncPostgresSaver(pool)  # type: ignore[arg-type]
        if setup:
            await saver.setup()
        yield saver
