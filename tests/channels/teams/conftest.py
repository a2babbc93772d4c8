"""Fixtures for Teams channel tests: the Bot Connector emulator, real Redis coordination, a running server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from channels.coordination import Coordinator
from tests.channels.scripted_handler import ScriptedHandler
from tests.channels.teams.support import TeamsServer, start_server
from tests.emulators.bot_connector import BotConnectorEmulator


@pytest.fixture
async def connector() -> AsyncIterator[BotConnectorEmulator]:
    emulator = BotConnectorEmulator()
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
async def server(
    handler: ScriptedHandler, coordinator: Coordinator, connector: BotConnectorEmulator
) -> AsyncIterator[TeamsServer]:
    """Stopped before the connector (the bot may still be talking to it)."""
    srv = await start_server(handler, coordinator)
    yield srv
    await srv.channel.drain()
    await srv.stop()
