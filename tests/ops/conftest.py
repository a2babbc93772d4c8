"""Fixtures for the operations tests: a real runtime (embedded SCIM, SQLite) and a job context over it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.jobs import JobContext, Schedule, build_registry
from bot.metrics import Metrics
from bot.queue import InProcessQueue
from bot.settings import Settings, offline_runtime
from bot.wiring import Runtime, open_runtime
from bot.worker import build_job_context
from channels.base import InboundMessage, Reply

offline_runtime()
HECTOR, CAROL, DAN = "hector.ruiz@example.com", "carol.diaz@example.com", "dan.okafor@example.com"


@pytest.fixture
def ops_settings(tmp_path: Path, sample_index: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", index_dir=sample_index)  # type: ignore[call-arg]


@pytest.fixture
async def runtime(ops_settings: Settings, embedder: Any) -> AsyncIterator[Runtime]:
    async with open_runtime(ops_settings, embedder=embedder, metrics=Metrics()) as rt:
        yield rt


@pytest.fixture
async def job_ctx(ops_settings: Settings, runtime: Runtime) -> AsyncIterator[JobContext]:
    """A job context whose queue runs enqueued jobs in this process (no periodic sweeps started)."""
    queue = InProcessQueue(build_registry(Schedule()))
    ctx = build_job_context(ops_settings, runtime, queue, Metrics())
    queue.ctx = ctx
    yield ctx
    await queue.stop()


async def say(rt: Runtime, user: str, text: str, key: str = "c1") -> Reply:
    message = InboundMessage(
        channel="local",
        conversation_key=f"local:{key}",
        user_id=user,
        user_email=user,
        text=text,
        conversation_ref={"conversation": key},
    )
    return await rt.agent.handle(message)
