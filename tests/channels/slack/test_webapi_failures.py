"""Web API failures (5xx, 429, HTML/plain-text/broken-JSON bodies, hangs) degrade a turn, never drop it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from channels.coordination import Coordinator
from channels.core import wording
from channels.slack import actions
from tests.channels.scripted_handler import ScriptedHandler
from tests.channels.slack.support import GENERAL, SlackServer, click, mention, start_server, wait_for
from tests.emulators.slack_api import SlackApiEmulator

API_TIMEOUT_S = 1
HANG_S = 4.5  # longer than the client's time-out and the look-up deadline

Fault = Callable[[SlackApiEmulator, str, int], None]

# Each way Slack (or a proxy in front of it) can fail a call; `count` calls of `method` fail that way.
FAULTS: dict[str, Fault] = {
    "http_500": lambda emu, method, count: emu.fail(count, status=500, method=method),
    "html_405": lambda emu, method, count: emu.html(count, status=405, method=method),
    "html_502": lambda emu, method, count: emu.html(count, status=502, method=method),
    "text_plain_200": lambda emu, method, count: emu.plain_text(count, status=200, method=method),
    "text_plain_503": lambda emu, method, count: emu.plain_text(count, status=503, method=method),
    "invalid_json": lambda emu, method, count: emu.invalid_json(count, method=method),
    "hang": lambda emu, method, count: emu.hang(count, seconds=HANG_S, method=method),
}


@pytest.fixture
async def fragile(
    handler: ScriptedHandler, coordinator: Coordinator, emulator: SlackApiEmulator
) -> AsyncIterator[SlackServer]:
    """The server with short Web API time-outs, so a hang is noticed within the test."""
    srv = await start_server(handler, coordinator, emulator, api_timeout_s=API_TIMEOUT_S, lookup_timeout_s=4.0)
    yield srv
    await srv.stop()


def _texts(emulator: SlackApiEmulator, channel: str, thread: str) -> list[str]:
    return [str(m["text"]) for m in emulator.thread(channel, thread)]


def _answered(emulator: SlackApiEmulator, channel: str, thread: str) -> list[str]:
    return [t for t in _texts(emulator, channel, thread) if "VPN access" in t]


def _no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    crashed = [r for r in caplog.records if r.exc_info and r.levelno >= logging.ERROR]
    assert not crashed, [r.getMessage() for r in crashed]


@pytest.mark.parametrize("kind", sorted(FAULTS))
async def test_a_failing_user_lookup_answers_without_the_identity(
    kind: str,
    fragile: SlackServer,
    emulator: SlackApiEmulator,
    handler: ScriptedHandler,
    caplog: pytest.LogCaptureFixture,
) -> None:
    FAULTS[kind](emulator, "users.info", 20)
    event = mention("U_BOB", "how do I get VPN access?")
    response = await fragile.deliver(event)
    assert response.status == 200
    await wait_for(lambda: _answered(emulator, GENERAL, event["ts"]), timeout=15)
    assert handler.turns[-1].user_email is None  # no identity: no personal tools
    assert not any(t == wording.THINKING for t in _texts(emulator, GENERAL, event["ts"]))
    warnings = [r for r in caplog.records if "look-up failed for event" in r.getMessage()]
    assert len(warnings) == 1  # logged once per turn
    _no_tracebacks(caplog)


async def test_a_rate_limited_user_lookup_waits_and_keeps_the_identity(
    fragile: SlackServer, emulator: SlackApiEmulator, handler: ScriptedHandler
) -> None:
    emulator.rate_limit(1, retry_after=1, method="users.info")
    event = mention("U_BOB", "how do I get VPN access?")
    await fragile.deliver(event)
    await wait_for(lambda: _answered(emulator, GENERAL, event["ts"]), timeout=10)
    assert handler.turns[-1].user_email == "bob.martin@example.com"
    assert [c.status for c in emulator.of("users.info", ok_only=False)] == [429, 200]


async def test_the_lookup_failure_is_logged_with_slacks_request_id(
    fragile: SlackServer, emulator: SlackApiEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    emulator.fail(20, status=500, method="users.info")
    event = mention("U_BOB", "how do I get VPN access?")
    await fragile.deliver(event)
    await wait_for(lambda: _answered(emulator, GENERAL, event["ts"]), timeout=10)
    [warning] = [r.getMessage() for r in caplog.records if "look-up failed for event" in r.getMessage()]
    assert "internal_error" in warning and "Slack request id" in warning


@pytest.mark.parametrize("kind", sorted(FAULTS))
async def test_a_failing_placeholder_update_still_shows_the_answer(
    kind: str, fragile: SlackServer, emulator: SlackApiEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    FAULTS[kind](emulator, "chat.update", 20)
    event = mention("U_BOB", "how do I get VPN access?")
    await fragile.deliver(event)
    await wait_for(lambda: _answered(emulator, GENERAL, event["ts"]), timeout=20)
    _no_tracebacks(caplog)


@pytest.mark.parametrize("kind", sorted(FAULTS))
async def test_a_failing_placeholder_post_still_posts_the_answer(
    kind: str, fragile: SlackServer, emulator: SlackApiEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    FAULTS[kind](emulator, "chat.postMessage", 1)  # the first post is the "Thinking…" placeholder
    event = mention("U_BOB", "how do I get VPN access?")
    await fragile.deliver(event)
    await wait_for(lambda: _answered(emulator, GENERAL, event["ts"]), timeout=10)
    _no_tracebacks(caplog)


@pytest.mark.parametrize("kind", sorted(FAULTS))
async def test_failing_mention_lookups_still_post_the_approval_request(
    kind: str, fragile: SlackServer, emulator: SlackApiEmulator
) -> None:
    FAULTS[kind](emulator, "users.lookupByEmail", 50)
    event = mention("U_BOB", "please hold INV-10077")
    await fragile.deliver(event)
    [request] = await wait_for(
        lambda: [m for m in emulator.thread(GENERAL, event["ts"]) if m["blocks"] and "Approve" in str(m["blocks"])],
        timeout=20,
    )
    assert "carol.diaz@example.com" in str(request["blocks"])  # the e-mail stands in for the mention


@pytest.mark.parametrize("kind", sorted(FAULTS))
async def test_a_failing_dm_gives_an_apology_with_a_reference_not_silence(
    kind: str, fragile: SlackServer, emulator: SlackApiEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    FAULTS[kind](emulator, "conversations.open", 20)
    event = mention("U_HECTOR", "what is the status of INV-10042?")
    await fragile.deliver(event)
    [apology] = await wait_for(
        lambda: [t for t in _texts(emulator, GENERAL, event["ts"]) if "reference" in t], timeout=20
    )
    assert "Sorry" in apology
    assert "12,400" not in " ".join(_texts(emulator, GENERAL, event["ts"]))


@pytest.mark.parametrize("kind", sorted(FAULTS))
async def test_a_failing_ephemeral_reply_still_records_the_feedback(
    kind: str,
    fragile: SlackServer,
    emulator: SlackApiEmulator,
    handler: ScriptedHandler,
    caplog: pytest.LogCaptureFixture,
) -> None:
    FAULTS[kind](emulator, "chat.postEphemeral", 20)
    payload: dict[str, Any] = click(
        "U_BOB", actions.FEEDBACK_HELPFUL, "aud-7", channel=GENERAL, message_ts="1700000000.000100"
    )
    await fragile.interact(payload)
    await wait_for(lambda: handler.feedback_calls, timeout=10)
    assert handler.feedback_calls == [("aud-7", "bob.martin@example.com", True)]
    await wait_for(lambda: emulator.of("chat.postEphemeral", ok_only=False) or kind == "hang", timeout=10)
    await fragile.channel.drain(10)
    assert not [r for r in caplog.records if "click" in r.getMessage() and "failed" in r.getMessage()]
    _no_tracebacks(caplog)
