"""`/deskhand` and the "Ask Deskhand about this" message shortcut over real HTTP: signed form posts, acked at
once, answered privately (chat.postEphemeral, or the response_url outside the bot's channels)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

from channels.slack import actions
from channels.slack.commands import SHORTCUT
from tests.channels.scripted_handler import ScriptedHandler
from tests.channels.slack.support import GENERAL, SlackServer, click, mention, sign, wait_for
from tests.emulators.slack_api import TEAM_ID, SlackApiEmulator


def command(emulator: SlackApiEmulator, user: str, text: str, *, channel: str = GENERAL) -> dict[str, str]:
    """The form fields Slack posts for `/deskhand text`."""
    return {
        "token": "legacy-verification-token",
        "team_id": TEAM_ID,
        "team_domain": "larkspur",
        "channel_id": channel,
        "channel_name": "general",
        "user_id": user,
        "user_name": user.lower(),
        "command": "/deskhand",
        "text": text,
        "api_app_id": "A_DESKHAND",
        "response_url": f"http://127.0.0.1:{emulator.port}/response/{uuid.uuid4().hex[:8]}",
        "trigger_id": f"{uuid.uuid4().int % 10**12}.trigger",
    }


def shortcut(emulator: SlackApiEmulator, user: str, text: str) -> dict[str, Any]:
    """The `message_action` payload of the message shortcut on a message saying `text`."""
    return {
        "type": "message_action",
        "callback_id": SHORTCUT,
        "team": {"id": TEAM_ID, "domain": "larkspur"},
        "user": {"id": user, "name": user.lower()},
        "channel": {"id": GENERAL, "name": "general"},
        "message": {"type": "message", "user": "U_FRANK", "ts": f"{time.time():.6f}", "text": text},
        "message_ts": f"{time.time():.6f}",
        "trigger_id": f"{uuid.uuid4().int % 10**12}.trigger",
        "response_url": f"http://127.0.0.1:{emulator.port}/response/{uuid.uuid4().hex[:8]}",
        "token": "legacy-verification-token",
    }


async def send(server: SlackServer, fields: dict[str, str]) -> tuple[int, str, float]:
    body = urlencode(fields)
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
    start = time.perf_counter()
    async with server.session.post(f"{server.url}/slack/events", data=body.encode(), headers=headers) as response:
        return response.status, await response.text(), time.perf_counter() - start


async def test_a_question_is_acked_at_once_and_answered_to_the_asker_alone(
    server: SlackServer, emulator: SlackApiEmulator, handler: ScriptedHandler
) -> None:
    status, _body, took = await send(server, command(emulator, "U_ALICE", "how do I get VPN access?"))
    assert status == 200 and took < 3.0
    [answer] = await wait_for(lambda: emulator.private.ephemeral)
    assert answer["channel"] == GENERAL and answer["user"] == "U_ALICE" and "vpn-users" in answer["text"]
    assert not emulator.posts()  # nothing in the channel for everyone
    [turn] = handler.turns
    assert turn.user_email == "alice.nguyen@example.com" and not turn.shared and turn.text == "how do I get VPN access?"


async def test_help_and_an_empty_command_show_the_usage_in_the_ack(
    server: SlackServer, emulator: SlackApiEmulator, handler: ScriptedHandler
) -> None:
    for text in ("", "help"):
        await send(server, command(emulator, "U_BOB", text))
    usages = await wait_for(lambda: len(emulator.private.ephemeral) == 2 and emulator.private.ephemeral)
    assert all("/deskhand approvals" in u["text"] and u["user"] == "U_BOB" for u in usages)
    assert handler.turns == []


def _approve_buttons(message: dict[str, Any]) -> list[str]:
    rows = [b for b in message.get("blocks", []) if b["type"] == "actions"]
    return [e["value"] for b in rows for e in b["elements"] if e["action_id"] == actions.APPROVE]


def _url_id(fields: dict[str, str]) -> str:
    return fields["response_url"].rsplit("/", 1)[1]


async def test_approvals_lists_what_waits_for_the_user_with_working_buttons(
    server: SlackServer, emulator: SlackApiEmulator, handler: ScriptedHandler
) -> None:
    asked = mention("U_ALICE", "please hold INV-10077")
    await server.deliver(asked)
    await wait_for(lambda: handler.approvals)
    fields = command(emulator, "U_CAROL", "approvals")
    await send(server, fields)
    # One private message through the command's response_url (so it can be redrawn), with the cards.
    [listed] = await wait_for(lambda: emulator.private.shown.get(_url_id(fields)))
    assert (
        handler.turns[-1].text == "what's waiting for me?" and handler.turns[-1].user_email == "carol.diaz@example.com"
    )
    assert listed["response_type"] == "ephemeral" and not emulator.private.ephemeral
    [approval_id] = handler.approvals
    assert _approve_buttons(listed) == [approval_id]
    # the ephemeral copy's button is the ordinary one: Slack sends the click with the ephemeral container
    await server.interact(click("U_CAROL", actions.APPROVE, approval_id, channel=GENERAL, message_ts="1.000001"))
    await wait_for(lambda: handler.executions == [approval_id])


async def test_a_private_list_is_redrawn_when_its_approval_is_decided_elsewhere(
    server: SlackServer, emulator: SlackApiEmulator, handler: ScriptedHandler
) -> None:
    await server.deliver(mention("U_ALICE", "please hold INV-10077"))
    await wait_for(lambda: handler.approvals)
    fields = command(emulator, "U_CAROL", "approvals")
    await send(server, fields)
    await wait_for(lambda: emulator.private.shown.get(_url_id(fields)))
    await server.channel.drain()
    [approval_id] = handler.approvals
    # Dan approves from the card in the thread: Carol's private list no longer offers the buttons.
    await server.interact(click("U_DAN", actions.APPROVE, approval_id, channel=GENERAL, message_ts="9.000001"))
    await wait_for(lambda: handler.executions == [approval_id])
    [redrawn] = await wait_for(
        lambda: (shown := emulator.private.shown[_url_id(fields)]) and not _approve_buttons(shown[-1]) and shown
    )
    assert redrawn["replace_original"] is True and "Approved by <@U_DAN>" in json.dumps(redrawn["blocks"])


async def test_a_stale_private_card_answers_with_the_current_state_instead_of_acting(
    server: SlackServer, emulator: SlackApiEmulator, handler: ScriptedHandler
) -> None:
    for user, invoice in (("U_ALICE", "INV-10077"), ("U_BOB", "INV-10042")):
        await server.deliver(mention(user, f"please hold {invoice}"))
    await wait_for(lambda: len(handler.approvals) == 2)
    fields = command(emulator, "U_CAROL", "approvals")
    await send(server, fields)
    [listed] = await wait_for(lambda: emulator.private.shown.get(_url_id(fields)))
    await server.channel.drain()
    first, second = handler.approvals
    assert _approve_buttons(listed) == [first, second]
    emulator.private.expire(_url_id(fields))  # its 30 minutes are over: the list can't be redrawn any more
    await server.interact(click("U_DAN", actions.APPROVE, first, channel=GENERAL, message_ts="9.000001"))
    await wait_for(lambda: handler.executions == [first])
    await server.channel.drain()
    assert emulator.private.shown[_url_id(fields)] == [listed], "still the stale list, buttons and all"

    rows = {e["value"]: b["block_id"] for b in listed["blocks"] if b["type"] == "actions" for e in b["elements"]}
    for action in (actions.APPROVE, actions.REJECT):  # Carol clicks a button left on it
        stale = click("U_CAROL", action, first, channel=GENERAL, message_ts="1.000001")
        stale["container"]["is_ephemeral"] = True
        stale["actions"][0]["block_id"] = rows[first]
        url_id = f"click-{action}"
        stale["response_url"] = f"http://127.0.0.1:{emulator.port}/response/{url_id}"
        await server.interact(stale)
        # the list she clicked is redrawn: that card as the approval stands, the other still with its buttons
        [shown] = await wait_for(lambda: emulator.private.shown.get(url_id))  # noqa: B023 (awaited at once)
        assert shown["replace_original"] is True and _approve_buttons(shown) == [second]
        assert "Approved by <@U_DAN>" in json.dumps(shown["blocks"])
    told = await wait_for(lambda: len(emulator.private.ephemeral) == 2 and emulator.private.ephemeral)
    assert all(t["user"] == "U_CAROL" and "already executed" in t["text"] for t in told)
    assert handler.executions == [first] and emulator.views.opened == []


async def test_outside_the_bots_channels_the_answer_goes_through_the_response_url(
    server: SlackServer, emulator: SlackApiEmulator
) -> None:
    emulator.private.outside.add("C_ELSEWHERE")
    await send(server, command(emulator, "U_DAN", "how do I get VPN access?", channel="C_ELSEWHERE"))
    [answer] = await wait_for(lambda: emulator.private.responses)
    assert answer["response_type"] == "ephemeral" and "vpn-users" in answer["text"]


async def test_a_duplicate_delivery_is_answered_once(
    server: SlackServer, emulator: SlackApiEmulator, handler: ScriptedHandler
) -> None:
    fields = command(emulator, "U_ERIN", "how do I get VPN access?")
    assert (await send(server, fields))[0] == 200
    assert (await send(server, fields))[0] == 200
    await wait_for(lambda: emulator.private.ephemeral)
    await server.channel.drain()
    assert len(handler.turns) == 1 and len(emulator.private.ephemeral) == 1


async def test_the_message_shortcut_asks_about_the_message_privately(
    server: SlackServer, emulator: SlackApiEmulator, handler: ScriptedHandler
) -> None:
    response = await server.interact(shortcut(emulator, "U_GRACE", "How do I get VPN access?"))
    assert response.status == 200
    [answer] = await wait_for(lambda: emulator.private.ephemeral)
    assert answer["user"] == "U_GRACE" and "vpn-users" in answer["text"]
    assert handler.turns[0].text == "How do I get VPN access?"
    await server.interact(shortcut(emulator, "U_GRACE", ""))
    await wait_for(lambda: len(emulator.private.ephemeral) == 2)
    assert len(handler.turns) == 1  # no text: told so, nothing asked


async def test_malformed_commands_are_never_a_server_error(server: SlackServer, emulator: SlackApiEmulator) -> None:
    fields = command(emulator, "U_HECTOR", "how?")
    for broken in ({**fields, "user_id": ""}, {k: v for k, v in fields.items() if k != "trigger_id"}):
        status, body, _took = await send(server, broken)
        assert status == 200 and "/deskhand" in body  # the usage, in the ack
    odd = {**shortcut(emulator, "U_HECTOR", "x"), "message": "not an object"}
    response = await server.interact(odd)
    assert response.status < 500
    await server.channel.drain()
    assert json.dumps(emulator.private.ephemeral).count("how?") == 0
