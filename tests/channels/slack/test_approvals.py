"""Approvals in threads over real HTTP: who may decide, exactly one execution, stamps and private refusals."""

from __future__ import annotations

import asyncio
import copy
import re
from datetime import timedelta
from typing import Any

import pytest

from channels.slack import actions
from tests.channels.scripted_handler import ScriptedHandler
from tests.channels.slack.support import GENERAL, SlackServer, click, mention, start_server, wait_for
from tests.emulators.slack_api import SlackApiEmulator

# A time in the viewer's own time zone: Slack's date token with the UTC time as fallback.
WHEN = r"<!date\^\d+\^[^|>]+\|(\d{4}-\d\d-\d\d )?\d\d:\d\d UTC>"
STAMP = re.compile(rf"Approved by <@U_CAROL> at {WHEN}")


def _buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in message["blocks"] if b.get("block_id") == actions.APPROVAL_BUTTONS_BLOCK for e in b["elements"]]


def _block_text(message: dict[str, Any]) -> str:
    parts = []
    for block in message["blocks"]:
        parts += [block.get("text", {}).get("text", "")]
        parts += [f["text"] for f in block.get("fields", [])] + [
            e.get("text", "") for e in block.get("elements", []) if isinstance(e.get("text"), str)
        ]
    return "\n".join(parts)


async def _request(
    server: SlackServer, emulator: SlackApiEmulator, text: str = "please hold INV-10077"
) -> tuple[str, dict[str, Any]]:
    event = mention("U_BOB", text)
    await server.deliver(event)
    cards = await wait_for(lambda: [m for m in emulator.thread(GENERAL, event["ts"]) if _buttons(m)])
    await server.channel.drain()  # the turn is over: the card's location has been remembered
    return event["ts"], copy.deepcopy(cards[0])  # as first posted (the emulator's record changes)


async def _click(server: SlackServer, user: str, card: dict[str, Any], thread: str, approve: bool = True) -> None:
    action = actions.APPROVE if approve else actions.REJECT
    value = _buttons(card)[0]["value"]
    response = await server.interact(
        click(user, action, value, channel=GENERAL, message_ts=card["ts"], thread_ts=thread)
    )
    assert response.status == 200


def _ephemerals(emulator: SlackApiEmulator, user: str) -> list[str]:
    return [c.params["text"] for c in emulator.of("chat.postEphemeral") if c.params.get("user") == user]


async def test_approval_message_shows_what_who_why_rule_expiry_and_approvers(
    server: SlackServer, emulator: SlackApiEmulator, handler: ScriptedHandler
) -> None:
    thread, card = await _request(server, emulator)
    [approval_id] = handler.approvals
    text = _block_text(card)
    assert "Put invoice INV-10077 on payment hold" in text
    assert "<@U_BOB>" in text  # requester
    assert "AP lead" in text and "`ap.hold_payment`" in text
    assert re.search(
        r"\*Expires\*\n<!date\^\d+\^\{date_short_pretty\} at \{time\}\|\d{4}-\d\d-\d\d \d\d:\d\d UTC>", text
    )
    assert "<@U_CAROL> and <@U_DAN>" in text
    assert "<@U_CAROL>" in card["text"]  # the fallback text mentions approvers too (notifications)
    assert [b["value"] for b in _buttons(card)] == [approval_id, approval_id]
    assert card["thread_ts"] == thread
    [ref] = await wait_for(lambda: handler.refs.get(approval_id))  # remembered right after posting
    assert ref.channel == "slack" and ref.data["channel"] == GENERAL and ref.data["ts"] == card["ts"]


async def test_eligible_approver_executes_once_and_the_card_gets_a_stamp(
    server: SlackServer, emulator: SlackApiEmulator, handler: ScriptedHandler
) -> None:
    thread, card = await _request(server, emulator)
    await _click(server, "U_CAROL", card, thread)
    updated = await wait_for(
        lambda: [m for m in emulator.thread(GENERAL, thread) if m["ts"] == card["ts"] and m["updates"]]
    )
    assert _buttons(updated[0]) == []
    assert STAMP.search(_block_text(updated[0])) and "done" in _block_text(updated[0])
    assert handler.executions == list(handler.approvals)
    # the requester hears about the result in the thread
    await wait_for(lambda: any("executed" in m["text"] for m in emulator.thread(GENERAL, thread)))
    assert _ephemerals(emulator, "U_CAROL") == []


@pytest.mark.parametrize(
    ("user", "why"),
    [
        ("U_BOB", "your own request"),  # the requester
        ("U_IVY", "not one of the approvers"),  # an outsider
        ("U_STRANGER", "company directory"),  # in the workspace, not in the directory
    ],
)
async def test_ineligible_clickers_are_told_privately_and_nothing_happens(
    server: SlackServer, emulator: SlackApiEmulator, handler: ScriptedHandler, user: str, why: str
) -> None:
    thread, card = await _request(server, emulator)
    await _click(server, user, card, thread)
    [refusal] = await wait_for(lambda: _ephemerals(emulator, user))
    assert why in refusal
    await server.channel.drain()
    assert handler.executions == []
    assert emulator.messages[(GENERAL, card["ts"])]["updates"] == 0  # buttons still there
    assert not emulator.of("chat.update", ok_only=False)[1:]  # only the placeholder's update


async def test_double_click_executes_once(
    server: SlackServer, emulator: SlackApiEmulator, handler: ScriptedHandler
) -> None:
    thread, card = await _request(server, emulator)
    await _click(server, "U_CAROL", card, thread)
    await _click(server, "U_CAROL", card, thread)
    [refusal] = await wait_for(lambda: _ephemerals(emulator, "U_CAROL"))
    assert "already executed" in refusal
    assert len(handler.executions) == 1


async def test_concurrent_clicks_from_two_approvers_execute_once(
    server: SlackServer, emulator: SlackApiEmulator, handler: ScriptedHandler
) -> None:
    thread, card = await _request(server, emulator)
    await asyncio.gather(_click(server, "U_CAROL", card, thread), _click(server, "U_DAN", card, thread))
    await wait_for(lambda: handler.decide_calls == 2)
    await server.channel.drain()
    assert len(handler.executions) == 1
    refused = _ephemerals(emulator, "U_CAROL") + _ephemerals(emulator, "U_DAN")
    assert len(refused) == 1 and "already executed" in refused[0]
    stamp = _block_text(emulator.messages[(GENERAL, card["ts"])])
    assert len(re.findall(r"Approved by <@U_(CAROL|DAN)>", stamp)) == 1


async def test_redelivered_click_is_decided_once(
    server: SlackServer, emulator: SlackApiEmulator, handler: ScriptedHandler
) -> None:
    thread, card = await _request(server, emulator)
    payload = click(
        "U_CAROL", actions.APPROVE, _buttons(card)[0]["value"], channel=GENERAL, message_ts=card["ts"], thread_ts=thread
    )
    responses = await asyncio.gather(*(server.interact(payload) for _ in range(3)))
    assert [r.status for r in responses] == [200, 200, 200]
    await wait_for(lambda: handler.executions)
    await server.channel.drain()
    assert handler.decide_calls == 1
    assert _ephemerals(emulator, "U_CAROL") == []


async def test_rejection_stamps_the_card_and_runs_nothing(
    server: SlackServer, emulator: SlackApiEmulator, handler: ScriptedHandler
) -> None:
    thread, card = await _request(server, emulator)
    await _click(server, "U_DAN", card, thread, approve=False)
    await wait_for(lambda: emulator.messages[(GENERAL, card["ts"])]["updates"])
    message = emulator.messages[(GENERAL, card["ts"])]
    assert re.search(rf"Rejected by <@U_DAN> at {WHEN}", _block_text(message))
    assert _buttons(message) == [] and handler.executions == []


async def test_four_eyes_needs_two_different_approvers(
    server: SlackServer, emulator: SlackApiEmulator, handler: ScriptedHandler
) -> None:
    thread, card = await _request(server, emulator, "change the bank details for Acme Corp")
    assert "four eyes" in _block_text(card)
    await _click(server, "U_CAROL", card, thread)
    await wait_for(lambda: emulator.messages[(GENERAL, card["ts"])]["updates"] == 1)
    halfway = emulator.messages[(GENERAL, card["ts"])]
    assert (
        _buttons(halfway)
        and "Approved by <@U_CAROL> at" in _block_text(halfway)
        and "1 more approval needed" in _block_text(halfway)
    )
    await _click(server, "U_CAROL", card, thread)  # the same person again does not count
    await wait_for(lambda: _ephemerals(emulator, "U_CAROL"))
    assert handler.executions == []
    await _click(server, "U_KATE", card, thread)
    await wait_for(lambda: handler.executions)
    done = await wait_for(lambda: (m := emulator.messages[(GENERAL, card["ts"])])["updates"] == 2 and m)
    assert _buttons(done) == [] and "Approved by <@U_CAROL> and <@U_KATE>" in _block_text(done)


async def test_expired_approval_shows_a_stamp_and_refuses_clicks(
    server: SlackServer, emulator: SlackApiEmulator, handler: ScriptedHandler
) -> None:
    thread, card = await _request(server, emulator)
    [approval_id] = handler.approvals
    await handler.expire(approval_id)
    message = emulator.messages[(GENERAL, card["ts"])]
    assert _buttons(message) == [] and re.search(rf"Expired at {WHEN}", _block_text(message))
    await _click(server, "U_CAROL", card, thread)  # a stale client still showing the buttons
    [refusal] = await wait_for(lambda: _ephemerals(emulator, "U_CAROL"))
    assert "expired" in refusal and handler.executions == []


async def test_click_after_the_deadline_expires_the_request(emulator: SlackApiEmulator, coordinator: Any) -> None:
    late = ScriptedHandler(approval_ttl=timedelta(seconds=-1))
    server = await start_server(late, coordinator, emulator)
    try:
        thread, card = await _request(server, emulator)
        await _click(server, "U_CAROL", card, thread)
        [refusal] = await wait_for(lambda: _ephemerals(emulator, "U_CAROL"))
        assert "expired" in refusal and late.executions == []
        assert "Expired at" in _block_text(emulator.messages[(GENERAL, card["ts"])])
    finally:
        await server.stop()
