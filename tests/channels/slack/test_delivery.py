"""Delivery over real HTTP: feedback, privacy in shared channels, long answers, rate limits, ordering."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from channels.base import ApprovalView, MessageRef, Reply
from channels.slack import actions
from tests.channels.scripted_handler import ScriptedHandler
from tests.channels.slack.support import GENERAL, SlackServer, click, direct, mention, thread_reply, wait_for
from tests.emulators.slack_api import SlackApiEmulator


def _answers(emulator: SlackApiEmulator, channel: str, thread: str) -> list[dict[str, Any]]:
    return [m for m in emulator.thread(channel, thread) if m["updates"] > 0]


async def test_native_feedback_buttons_record_the_audit_id_and_thank_privately(
    server: SlackServer, emulator: SlackApiEmulator, handler: ScriptedHandler
) -> None:
    event = mention("U_BOB", "how do I get VPN access?")
    await server.deliver(event)
    [answer] = await wait_for(lambda: _answers(emulator, GENERAL, event["ts"]))
    [block] = [b for b in answer["blocks"] if b.get("block_id") == actions.FEEDBACK_BLOCK]
    assert block["type"] == "context_actions"  # the emulator checked its shape against Block Kit's
    [buttons] = block["elements"]
    assert buttons["type"] == "feedback_buttons" and buttons["action_id"] == actions.FEEDBACK
    verdict = buttons["negative_button"]["value"]
    verb, _, audit_id = verdict.partition(":")
    assert verb == actions.UNHELPFUL_VALUE and audit_id.startswith("aud-")
    assert buttons["positive_button"]["value"] == f"{actions.HELPFUL_VALUE}:{audit_id}"
    await server.interact(click("U_BOB", actions.FEEDBACK, verdict, channel=GENERAL, message_ts=answer["ts"]))
    await wait_for(lambda: handler.feedback_calls)
    assert handler.feedback_calls == [(audit_id, "bob.martin@example.com", False)]
    [thanks] = await wait_for(lambda: emulator.of("chat.postEphemeral"))
    assert thanks.params["user"] == "U_BOB" and "Thanks" in thanks.params["text"]


async def test_buttons_of_older_answers_still_record_feedback(
    server: SlackServer, emulator: SlackApiEmulator, handler: ScriptedHandler
) -> None:
    await server.interact(click("U_BOB", actions.FEEDBACK_HELPFUL, "aud-7", channel=GENERAL, message_ts="1.000001"))
    await wait_for(lambda: handler.feedback_calls)
    assert handler.feedback_calls == [("aud-7", "bob.martin@example.com", True)]


async def test_a_forged_feedback_value_is_refused_privately(
    server: SlackServer, emulator: SlackApiEmulator, handler: ScriptedHandler
) -> None:
    await server.interact(click("U_BOB", actions.FEEDBACK, "great", channel=GENERAL, message_ts="1.000001"))
    [told] = await wait_for(lambda: emulator.of("chat.postEphemeral"))
    assert "no longer supported" in told.params["text"] and not handler.feedback_calls


async def test_sensitive_result_in_a_public_channel_goes_to_a_dm(
    server: SlackServer, emulator: SlackApiEmulator
) -> None:
    event = mention("U_HECTOR", "what is the status of INV-10042?")
    await server.deliver(event)
    [pointer] = await wait_for(lambda: _answers(emulator, GENERAL, event["ts"]))
    assert "sent you the answer privately" in pointer["text"]
    [opened] = emulator.of("conversations.open")
    assert opened.params["users"] == "U_HECTOR"
    [private] = emulator.posts("DU_HECTOR")
    assert "12,400.00" in private.params["text"]
    shared_text = " ".join(str(m) for (ch, _ts), m in emulator.messages.items() if ch == GENERAL)
    assert "12,400" not in shared_text


async def test_sensitive_result_in_a_dm_stays_in_the_dm(server: SlackServer, emulator: SlackApiEmulator) -> None:
    event = direct("U_HECTOR", "what is the status of INV-10042?")
    await server.deliver(event)
    [answer] = await wait_for(lambda: _answers(emulator, "DU_HECTOR", event["ts"]))
    assert "12,400.00" in answer["text"]
    assert emulator.of("conversations.open") == []


async def test_long_answer_is_split_within_slack_limits(server: SlackServer, emulator: SlackApiEmulator) -> None:
    emulator.streaming_error = "unknown_method"  # the chat.update path (streaming unavailable)
    event = mention("U_BOB", "give me the long onboarding checklist")
    await server.deliver(event)
    [answer] = await wait_for(lambda: _answers(emulator, GENERAL, event["ts"]))
    sections = [b for b in answer["blocks"] if b["type"] == "section"]
    assert 1 < len(answer["blocks"]) <= 50 and len(sections) > 10
    assert all(len(b["text"]["text"]) <= 3000 for b in sections)
    assert len(answer["text"]) <= 40_000
    assert any(b["type"] == "context" and "Sources" in b["elements"][0]["text"] for b in answer["blocks"])


async def test_rate_limit_storm_still_delivers_one_reply(
    server: SlackServer, emulator: SlackApiEmulator, handler: ScriptedHandler
) -> None:
    emulator.streaming_error = "unknown_method"  # the chat.update path (streaming unavailable)
    event = mention("U_BOB", "how do I get VPN access?")
    emulator.rate_limit(2, retry_after=1, method="chat.postMessage")
    emulator.rate_limit(1, retry_after=1, method="chat.update")
    await server.deliver(event)
    [answer] = await wait_for(lambda: _answers(emulator, GENERAL, event["ts"]), timeout=15)
    assert "vpn-users" in answer["text"]
    await server.channel.drain()
    assert len(emulator.posts(GENERAL, event["ts"])) == 1
    limited = [c for c in emulator.calls if c.status == 429]
    assert len(limited) == 3
    # Retry-After honoured: the successful post came at least a second after the last 429 for it
    posts = [c for c in emulator.calls if c.method == "chat.postMessage"]
    assert posts[-1].ok and posts[-1].at - posts[-2].at >= 1.0


async def test_server_error_on_the_answer_is_retried_not_duplicated(
    server: SlackServer, emulator: SlackApiEmulator
) -> None:
    emulator.streaming_error = "unknown_method"  # the chat.update path (streaming unavailable)
    event = mention("U_BOB", "how do I get VPN access?")
    emulator.fail(1, status=500, method="chat.update")  # chat.update is safe to repeat: the answer survives
    await server.deliver(event)
    [message] = await wait_for(lambda: _answers(emulator, GENERAL, event["ts"]))
    assert "vpn" in message["text"].lower() and "Sorry" not in message["text"]
    assert len(emulator.posts(GENERAL, event["ts"])) == 1


async def test_unexpected_errors_show_a_reference_never_the_exception(
    server: SlackServer, emulator: SlackApiEmulator
) -> None:
    event = mention("U_BOB", "boom")
    await server.deliver(event)
    # Wait for the apology itself: the placeholder may be updated before it lands (an empty live update).
    [message] = await wait_for(
        lambda: [m for m in _answers(emulator, GENERAL, event["ts"]) if "reference" in (m.get("text") or "")]
    )
    assert all("hunter2" not in str(m) for m in emulator.thread(GENERAL, event["ts"]))
    assert message["text"].count("reference") >= 1


async def test_messages_in_one_thread_are_handled_one_at_a_time_in_order(
    server: SlackServer, emulator: SlackApiEmulator, handler: ScriptedHandler
) -> None:
    root = mention("U_BOB", "slow question one")
    await server.deliver(root)
    await wait_for(lambda: handler.turns)
    for n in ("two", "three"):
        await server.deliver(thread_reply("U_BOB", f"slow question {n}", root["ts"]))
    await wait_for(lambda: len(_answers(emulator, GENERAL, root["ts"])) == 3, timeout=10)
    assert [t.text for t in handler.turns] == ["slow question one", "slow question two", "slow question three"]
    assert handler.max_active[handler.turns[0].conversation_key] == 1


async def test_different_threads_run_concurrently(
    server: SlackServer, emulator: SlackApiEmulator, handler: ScriptedHandler
) -> None:
    events = [mention("U_BOB", f"slow question {n}") for n in range(4)]
    await asyncio.gather(*(server.deliver(e) for e in events))
    await wait_for(lambda: all(_answers(emulator, GENERAL, e["ts"]) for e in events), timeout=10)
    assert len(handler.turns) == 4 and handler.peak_total > 1


async def test_outbox_works_standalone_for_the_agent_core(server: SlackServer, emulator: SlackApiEmulator) -> None:
    """The core calls notify/refresh_approval outside any Slack turn (e.g. after a decision in Teams)."""
    outbox = server.channel.outbox
    ref = {
        "team": "T_LARKSPUR",
        "channel": GENERAL,
        "thread_ts": "1700000000.000100",
        "user": "U_PRIYA",
        "shared": True,
    }
    await outbox.notify(ref, Reply(text="Invoice INV-10042: EUR 12,400.00 paid.", route="tool", sensitive=True))
    [dm] = emulator.posts("DU_PRIYA")
    assert "12,400.00" in dm.params["text"]
    [pointer] = emulator.posts(GENERAL, "1700000000.000100")
    assert "privately" in pointer.params["text"]

    view = ApprovalView(
        approval_id="apr-x",
        title="Release the hold on INV-10077",
        requester="hector.ruiz@example.com",
        reason="Releases need an AP lead.",
        rule="ap.release_hold",
        mode="approve",
        approvers=("carol.diaz@example.com",),
        required=1,
        expires_at=datetime.now(UTC) + timedelta(hours=1),
        status="cancelled",
    )
    ts = pointer.response["ts"]
    await outbox.refresh_approval(MessageRef("slack", {"channel": GENERAL, "ts": ts}), view)
    assert "Cancelled" in emulator.messages[(GENERAL, ts)]["text"]
    with pytest.raises(ValueError, match="not a Slack message"):
        await outbox.refresh_approval(MessageRef("teams", {"activity_id": "1"}), view)
