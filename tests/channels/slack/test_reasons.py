"""The reason form over real HTTP: Reject opens a modal (views.open with the click's trigger), the
submission carries the reason to the decision; no reason keeps the form open; refusals stay private."""

from __future__ import annotations

import copy
import json
from typing import Any

from channels.slack import actions, reasons
from tests.channels.scripted_handler import ScriptedHandler
from tests.channels.slack.support import GENERAL, SlackServer, click, mention, view_submission, wait_for
from tests.emulators.slack_api import SlackApiEmulator
from tests.emulators.slack_views import modal_problems


def _buttons(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        e["action_id"]: e
        for b in message["blocks"]
        if b.get("block_id") == actions.APPROVAL_BUTTONS_BLOCK
        for e in b["elements"]
    }


async def _card(server: SlackServer, emulator: SlackApiEmulator) -> tuple[str, dict[str, Any]]:
    event = mention("U_BOB", "please hold INV-10077")
    await server.deliver(event)
    cards = await wait_for(lambda: [m for m in emulator.thread(GENERAL, event["ts"]) if _buttons(m)])
    await server.channel.drain()
    return event["ts"], copy.deepcopy(cards[0])


async def _press(server: SlackServer, user: str, card: dict[str, Any], thread: str, action: str) -> dict[str, Any]:
    payload = click(
        user, action, _buttons(card)[action]["value"], channel=GENERAL, message_ts=card["ts"], thread_ts=thread
    )
    response = await server.interact(payload)
    assert response.status == 200
    return payload


def _ephemerals(emulator: SlackApiEmulator, user: str) -> list[str]:
    return [c.params["text"] for c in emulator.of("chat.postEphemeral") if c.params.get("user") == user]


async def test_reject_opens_a_valid_form_with_the_clicks_trigger_and_decides_with_the_reason(
    server: SlackServer, emulator: SlackApiEmulator, handler: ScriptedHandler
) -> None:
    thread, card = await _card(server, emulator)
    pressed = await _press(server, "U_DAN", card, thread, actions.REJECT)
    [form] = await wait_for(lambda: emulator.views.opened)
    assert form["trigger_id"] == pressed["trigger_id"]
    assert modal_problems(form["view"]) == [] and form["view"]["callback_id"] == reasons.VIEW
    [field] = [b for b in form["view"]["blocks"] if b["type"] == "input"]
    assert field["optional"] is False and "Why" in field["label"]["text"]
    assert handler.decide_calls == 0, "the click alone decides nothing"

    status, body = await server.submit(view_submission("U_DAN", form["view"], "  Vendor dispute settled.  "))
    assert (status, body) == (200, "")  # closes the form
    await wait_for(lambda: handler.decide_calls)
    [approval_id] = handler.approvals
    [decision] = handler.approvals[approval_id].decisions
    assert (decision.approver, decision.approve, decision.comment) == (
        "dan.okafor@example.com",
        False,
        "Vendor dispute settled.",
    )


async def test_a_rejection_without_a_reason_keeps_the_form_open_and_decides_nothing(
    server: SlackServer, emulator: SlackApiEmulator, handler: ScriptedHandler
) -> None:
    thread, card = await _card(server, emulator)
    await _press(server, "U_DAN", card, thread, actions.REJECT)
    [form] = await wait_for(lambda: emulator.views.opened)
    status, body = await server.submit(view_submission("U_DAN", form["view"], "   "))
    assert status == 200
    assert json.loads(body) == {"response_action": "errors", "errors": {reasons.BLOCK: reasons.REASON_NEEDED}}
    status, body = await server.submit(view_submission("U_DAN", form["view"], "Duplicate of INV-10078's hold."))
    assert (status, body) == (200, "")  # the corrected form is a new submission, not a duplicate
    await wait_for(lambda: handler.decide_calls)
    await server.channel.drain()
    assert handler.decide_calls == 1


async def test_approve_with_comment_is_optional_and_reaches_the_decision(
    server: SlackServer, emulator: SlackApiEmulator, handler: ScriptedHandler
) -> None:
    thread, card = await _card(server, emulator)
    await _press(server, "U_CAROL", card, thread, actions.APPROVE_WITH_COMMENT)
    [form] = await wait_for(lambda: emulator.views.opened)
    [field] = [b for b in form["view"]["blocks"] if b["type"] == "input"]
    assert field["optional"] is True and form["view"]["submit"]["text"] == "Approve"
    status, body = await server.submit(view_submission("U_CAROL", form["view"], "Checked with the vendor."))
    assert (status, body) == (200, "")
    await wait_for(lambda: handler.executions)
    [decision] = next(iter(handler.approvals.values())).decisions
    assert decision.approve and decision.comment == "Checked with the vendor."


async def test_an_ineligible_clicker_is_told_why_privately_and_no_form_opens(
    server: SlackServer, emulator: SlackApiEmulator, handler: ScriptedHandler
) -> None:
    thread, card = await _card(server, emulator)
    for action in (actions.REJECT, actions.APPROVE_WITH_COMMENT):
        await _press(server, "U_IVY", card, thread, action)  # Ivy is no approver
    told = await wait_for(lambda: len(_ephemerals(emulator, "U_IVY")) == 2 and _ephemerals(emulator, "U_IVY"))
    assert all("not one of the approvers" in t for t in told)
    await _press(server, "U_BOB", card, thread, actions.REJECT)  # Bob asked for it
    [own] = await wait_for(lambda: _ephemerals(emulator, "U_BOB"))
    assert "your own request" in own
    assert emulator.views.opened == [], "checked before the form opens: no form for who may not decide"
    assert handler.may_decide_calls == 3 and handler.decide_calls == 0
    assert next(iter(handler.approvals.values())).status == "pending"


async def test_a_form_submitted_after_the_request_was_decided_elsewhere_is_refused(
    server: SlackServer, emulator: SlackApiEmulator, handler: ScriptedHandler
) -> None:
    thread, card = await _card(server, emulator)
    await _press(server, "U_DAN", card, thread, actions.REJECT)  # Dan may decide: the form opens
    [form] = await wait_for(lambda: emulator.views.opened)
    await _press(server, "U_CAROL", card, thread, actions.APPROVE)  # meanwhile Carol approves it
    await wait_for(lambda: next(iter(handler.approvals.values())).status == "executed")
    await server.submit(view_submission("U_DAN", form["view"], "Vendor dispute settled."))
    [refusal] = await wait_for(lambda: _ephemerals(emulator, "U_DAN"))  # judged again on submission
    assert "already executed" in refusal
    assert next(iter(handler.approvals.values())).status == "executed" and handler.executions == [
        next(iter(handler.approvals))
    ]


async def test_an_expired_trigger_tells_the_clicker_to_click_again(
    server: SlackServer, emulator: SlackApiEmulator, handler: ScriptedHandler
) -> None:
    thread, card = await _card(server, emulator)
    payload = click(
        "U_DAN",
        actions.REJECT,
        _buttons(card)[actions.REJECT]["value"],
        channel=GENERAL,
        message_ts=card["ts"],
        thread_ts=thread,
    )
    emulator.views.expired.add(payload["trigger_id"])
    await server.interact(payload)
    [note] = await wait_for(lambda: _ephemerals(emulator, "U_DAN"))
    assert note == reasons.FORM_FAILED and handler.decide_calls == 0


async def test_a_forged_or_malformed_submission_is_refused_or_ignored(
    server: SlackServer, emulator: SlackApiEmulator, handler: ScriptedHandler
) -> None:
    thread, card = await _card(server, emulator)
    await _press(server, "U_DAN", card, thread, actions.REJECT)
    [form] = await wait_for(lambda: emulator.views.opened)
    broken = view_submission("U_DAN", {**form["view"], "private_metadata": "{not json"}, "why")
    status, _ = await server.submit(broken)
    assert status == 200  # acknowledged (Slack would retry otherwise), and nothing decided
    unsigned = await server.post("payload=%7B%7D", content_type="application/x-www-form-urlencoded")
    assert unsigned.status == 401
    await server.channel.drain()
    assert handler.decide_calls == 0
