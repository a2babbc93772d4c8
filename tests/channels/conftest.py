"""Fixtures shared by the channel tests: a Redis-backed coordinator per test and the scripted agent."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest

from channels.coordination import Coordinator, build_coordinator, new_namespace
from tests.channels.scripted_handler import ScriptedHandler

REDIS_URL = os.environ.get("DESKHAND_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
async def coordinator() -> AsyncIterator[Coordinator]:
    """A coordinator on the test Redis, in a namespace of its own (no test sees another's claims)."""
    coord = build_coordinator(REDIS_URL, namespace=new_namespace("chantest"))
    yield coord
    await coord.close()


@pytest.fixture
def handler() -> ScriptedHandler:
    return ScriptedHandler()
