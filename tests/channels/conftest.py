"""Fixtures shared by the channel tests: a Redis-backed coordinator per test, the Slack Web API emulator, the
scripted agent and the real one on PostgreSQL."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from channels.coordination import Coordinator, build_coordinator, new_namespace
from tests.channels.scripted_handler import ScriptedHandler
from tests.emulators.slack_api import SlackApiEmulator

REDIS_URL = os.environ.get("DESKHAND_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
async def coordinator() -> AsyncIterator[Coordinator]:
    """A coordinator on the test Redis, in a namespace of its own (no test sees another's claims)."""
    coord = build_coordinator(REDIS_URL, namespace=new_namespace("chantest"))
    yield coord
    await coord.close()


@pytest.fixture
async def emulator() -> AsyncIterator[SlackApiEmulator]:
    """The Slack Web API emulator on a free 127.0.0.1 port, recording every call."""
    emu = SlackApiEmulator()
    await emu.start()
    yield emu
    await emu.stop()


@pytest.fixture
def handler() -> ScriptedHandler:
    return ScriptedHandler()


@pytest.fixture
def pg_agent(tmp_path: Path, sample_index: Path, embedder: Any, fresh_pg_url: str) -> Callable[[], Any]:
    """Opens the real runtime (agent, stores, audit) on a fresh, upgraded PostgreSQL schema."""
    from bot.cli_db import upgrade
    from bot.settings import Settings
    from bot.wiring import open_runtime

    @asynccontextmanager
    async def opened() -> AsyncIterator[Any]:
        await asyncio.to_thread(upgrade, fresh_pg_url)  # PostgreSQL is never migrated at start-up
        settings = Settings(data_dir=tmp_path / "data", index_dir=sample_index, database_url=fresh_pg_url)
        async with open_runtime(settings, embedder=embedder) as rt:
            yield rt

    return opened
