"""Fixtures for end-to-end agent tests: the real embedder, a sample index built once, and a runtime
over real stores (embedded scim2-server, SQLite or the local PostgreSQL) in a temporary data folder."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.settings import Settings, offline_runtime
from bot.wiring import Runtime, open_runtime
from channels.base import InboundMessage, Reply

offline_runtime()


@pytest.fixture
def make_settings(tmp_path: Path, sample_index: Path) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {"data_dir": tmp_path / "data", "index_dir": sample_index}
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
def open_agent(make_settings: Callable[..., Settings], embedder: Any) -> Callable[..., Any]:
    @asynccontextmanager
    async def opener(**overrides: Any) -> AsyncIterator[Runtime]:
        async with open_runtime(make_settings(**overrides), embedder=embedder) as rt:
            yield rt

    return opener


class Conversation:
    """One local conversation with the agent, as a given user."""

    def __init__(self, rt: Runtime, user: str | None, key: str = "c1") -> None:
        self.rt, self.user, self.key = rt, user, key

    async def say(self, text: str) -> Reply:
        msg = InboundMessage(
            channel="local",
            conversation_key=f"local:{self.key}",
            user_id=self.user or "-",
            user_email=self.user,
            text=text,
            conversation_ref={"conversation": self.key},
        )
        return await self.rt.agent.handle(msg)
