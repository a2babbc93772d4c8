"""Fixtures for Slack channel tests: the Web API emulator, real Redis coordination, a running server."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest

from channels.coordination import Coordinator, build_coordinator, new_namespace
from tests.channels.scripted_handler import ScriptedHandler
from tests.channels.slack.support import SlackServer, start_server
from tests.emulators.slack_api import SlackApiEmulator

REDIS_URL = os.environ.get("DESKHAND_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
async def emulator() -> AsyncIterator[SlackApiEmulator]:
    emu = SlackApiEmulator()
    await emu.start()
    yield emu
    await emu.stop()


@pytest.fixture
async def coordinator() -> AsyncIterator[Coordinator]:
    coord = build_coordinator(REDIS_URL, namespace=new_namespace("slacktest"))
    yield coord
    await coord.close()


@pytest.fixture
def handler() -> ScriptedHandler:
    return ScriptedHandler()


@pytest.fixture
async def server(
    handler: ScriptedHandler, coordinator: Coordinator, emulator: SlackApiEmulator
) -> AsyncIterator[SlackServer]:
    srv = await start_server(handler, coordinator, emulator)
    yield srv
    await srv.stop()
