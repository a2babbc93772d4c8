"""Readiness checks for /readyz, one small named function each (the function's name is what /readyz reports)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import text

ReadyCheck = Callable[[], Awaitable[None]]
CHECK_TIMEOUT_S = 2.0


def database_check(engine: Any) -> ReadyCheck:
    def select_one() -> None:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    async def database() -> None:
        await asyncio.wait_for(asyncio.to_thread(select_one), CHECK_TIMEOUT_S)

    return database


def redis_check(coordinator: Any) -> ReadyCheck:
    async def redis() -> None:
        await asyncio.wait_for(coordinator.ping(), CHECK_TIMEOUT_S)

    return redis


def index_check(index_dir: Path) -> ReadyCheck:
    """The published index is still there (a deleted or half-copied index dir fails before answers do)."""

    async def index() -> None:
        pointer = index_dir / "CURRENT"
        name = (await asyncio.to_thread(pointer.read_text, encoding="utf-8")).strip()
        if not (index_dir / "versions" / name).is_dir():
            raise FileNotFoundError("the CURRENT index version is missing")

    return index


def queue_check(queue: Any) -> ReadyCheck:
    async def queue_() -> None:
        await asyncio.wait_for(queue.ping(), CHECK_TIMEOUT_S)

    queue_.__name__ = "queue"
    return queue_


def build_checks(*, engine: Any, coordinator: Any, index_dir: Path, queue: Any) -> list[ReadyCheck]:
    """Ours; other parts (channel status) append theirs to the same list."""
    return [database_check(engine), redis_check(coordinator), index_check(index_dir), queue_check(queue)]
