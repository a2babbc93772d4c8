"""Fixtures for Slack channel tests: the Web API emulator, real Redis coordination, a running server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from channels.coordination import Coordinator
from tests.channels.scripted_handler import ScriptedHandler
from tests.channels.slack.support import SlackServer, start_server
from tests.emulators.slack_api import SlackApiEmulator


@pytest.fixture
async def server(
    handler: ScriptedHandler, coordinator: Coordinator, emulator: SlackApiEmulator
) -> AsyncIterator[SlackServer]:
    srv = await start_server(handler, coordinator, emulator)
    yield srv
    await srv.stop()
