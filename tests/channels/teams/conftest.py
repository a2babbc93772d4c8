"""Fixtures for Teams channel tests: the Bot Connector emulator, real Redis coordination, a running server."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest

from channels.coordination import Coordinator, build_coordinator, new_namespace
from tests.channels.scripted_handler import ScriptedHandler
from tests.channels.teams.support import TeamsServer, start_server
from tests.emulators.bot_connector import BotConnectorEmulator

REDIS_URL = os.environ.get("DESKHAND_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
async def connector() -> AsyncIterator[BotConnectorEmulator]:
    emulator = BotConnectorEmulator()
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
async def coordinator() -> AsyncIterator[Coordinator]:
    coord = build_coordinator(REDIS_URL, namespace=new_namespace("teamstest"))
    yield coord
    await coord.close()


@pytest.fixture
def handler() -> ScriptedHandler:
    return ScriptedHandler()


@pytest.fixture
async def server(
    handler: ScriptedHandler, coordinator: Coordinator, connector: BotConnectorEmulator
) -> AsyncIterator[TeamsServer]:
    """Stopped before the connector (the bot may still be talking to it)."""
    srv = await start_server(handler, coordinator)
    yield srv
    await srv.channel.drain()
    await srv.stop()
