"""The worker's channel outboxes (no web app): what it opens for them, its closers close."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from bot.settings import Settings
from bot.worker import attach_outboxes
from channels.coordination import build_coordinator
from tests.channels.scripted_handler import ScriptedHandler


async def test_the_teams_outboxs_http_session_is_closed_with_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESKHAND_TEAMS_INSECURE_NO_AUTH", "true")
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    settings = Settings()  # type: ignore[call-arg]
    rt = SimpleNamespace(agent=ScriptedHandler(), fanout=SimpleNamespace(outboxes={}))
    coordinator = build_coordinator(None)
    closers = await attach_outboxes(settings, rt, coordinator)
    assert set(rt.fanout.outboxes) == {"teams"}
    [close] = closers
    channel: Any = getattr(close, "__self__", None)  # the closer is the channel's own `close`
    session = channel.transport.session()  # as the first card or reminder sent to Teams opens it
    await close()
    assert session.closed
    await coordinator.close()
