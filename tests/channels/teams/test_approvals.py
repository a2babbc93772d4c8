"""Approval cards over real HTTP: who decides, one execution, refreshed cards, expiry, fallbacks, feedback."""

from __future__ import annotations

import asyncio
import copy
import re
from datetime import timedelta
from typing import Any

import pytest

from channels.base import MessageRef
from channels.coordination import Coordinator
from tests.channels.scripted_handler import ScriptedHandler
from tests.channels.teams.support import (
    TeamsServer,
    card_action,
    card_submit,
    channel_mention,
    personal_conversation,
    personal_message,
    start_server,
)
from tests.emulators.bot_connector import BotConnectorEmulator, ConnectorCall, TeamsUser

# A time in the viewer's own time zone: Adaptive Card DATE()/TIME() functions on an RFC 3339 time.
WHEN = r"(\{\{DATE\(\S+Z, SHORT\)\}\} )?\{\{TIME\(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)\}\}"
STAMP = re.compile(rf"Approved by Carol Diaz at {WHEN}")
# In the tenant as a guest, unknown to the company directory (and to the connector's member list).
STRANGER = TeamsUser(
    "Vic Visitor", "visitor@partner.example.org", "29:1stranger", "7e7e7e7e-0000-4000-8000-000000000007"
)


def _texts(card: dict[str, Any]) -> str:
    parts = [b.get("text", "") for b in card["body"]]
    parts += [f"{f['title']}: {f['value']}" for b in card["body"] for f in b.get("facts", [])]
    return "\n".join(parts)


def _is_approval(call: ConnectorCall) -> bool:
    return any(c.get("actions") and c["actions"][0].get("verb") == "approve" for c in call.cards)


async def _request(
    server: TeamsServer, connector: BotConnectorEmulator, text: str = "please hold INV-10077"
) -> tuple[ConnectorCall, dict[str, Any]]:
    """Bob asks in a channel; returns the posted card message and the card as first posted."""
    bob = connector.user("bob.martin@example.com")
    await server.post(channel_mention(connector, bob, text))
    [posted] = await connector.wait_for(lambda: [m for m in connector.messages() if _is_approval(m)])
    await server.channel.drain()  # the turn ends once the card's location is remembered
    return posted, copy.deepcopy(posted.cards[0])


def _action(
    connector: BotConnectorEmulator, user: TeamsUser, verb: str, data: dict[str, Any], on: ConnectorCall
) -> dict[str, Any]:
    """The invoke for `user` clicking a `verb` button on the card message `on`."""
    return card_action(
        connector, user, verb, data, conversation_id=str(on.conversation_id), card_id=str(on.response_id)
    )


def _submit(
    connector: BotConnectorEmulator, user: TeamsUser, data: dict[str, Any], on: ConnectorCall
) -> dict[str, Any]:
    return card_submit(connector, user, data, conversation_id=str(on.conversation_id), card_id=str(on.response_id))


async def _click(
    server: TeamsServer, connector: BotConnectorEmulator, email: str, posted: ConnectorCall, verb: str = "approve"
) -> dict[str, Any]:
    """`email` clicks a button on the posted card; returns the invoke response body."""
    user = connector.user(email) if email in connector.users else STRANGER
    status, body = await server.post(_action(connector, user, verb, posted.cards[0]["actions"][0]["data"], posted))
    assert status == 200
    assert isinstance(body, dict) and body["statusCode"] == 200
    return body


async def test_approval_card_shows_what_who_why_and_is_remembered(
    server: TeamsServer, connector: BotConnectorEmulator, handler: ScriptedHandler
) -> None:
    posted, card = await _request(server, connector)
    [approval_id] = handler.approvals
    assert card["version"] == "1.5" and card["type"] == "AdaptiveCard"
    text = _texts(card)
    assert "Put invoice INV-10077 on payment hold" in text and "Requested by: Bob Martin" in text
    assert "Can approve: Carol Diaz and Dan Okafor" in text and "ap.hold_payment" in text
    assert "AP lead" in text and "Waiting for a decision" in text
    verbs = [(a["type"], a["verb"], a["data"]) for a in card["actions"]]
    assert verbs == [
        ("Action.Execute", "approve", {"approval_id": approval_id}),
        ("Action.Execute", "reject", {"approval_id": approval_id}),
    ]
    fallbacks = [a["fallback"] for a in card["actions"]]
    assert [(f["type"], f["data"]) for f in fallbacks] == [
        ("Action.Submit", {"verb": "approve", "approval_id": approval_id}),
        ("Action.Submit", {"verb": "reject", "approval_id": approval_id}),
    ]
    # the request text went first, in the same reply chain as the card
    [intro] = [m for m in connector.messages() if "needs approval" in m.text]
    assert intro.conversation_id == posted.conversation_id
    [ref] = handler.refs[approval_id]
    assert ref == MessageRef(
        "teams",
        {"service_url": connector.url, "conversation_id": posted.conversation_id, "activity_id": posted.response_id},
    )


async def test_eligible_approver_gets_the_decided_card_and_everyone_sees_it(
    server: TeamsServer, connector: BotConnectorEmulator, handler: ScriptedHandler
) -> None:
    posted, _ = await _request(server, connector)
    body = await _click(server, connector, "carol.diaz@example.com", posted)
    assert body["type"] == "application/vnd.microsoft.card.adaptive"
    assert "actions" not in body["value"] and STAMP.search(_texts(body["value"]))
    assert handler.executions == list(handler.approvals)
    # the card message itself is replaced for everyone (PUT), buttons gone
    [update] = await connector.wait_for(lambda: connector.updates(posted.response_id))
    assert update.conversation_id == posted.conversation_id
    [card] = update.cards
    assert "actions" not in card and "refresh" not in card
    assert STAMP.search(_texts(card)) and "done" in _texts(card)
    # the requester hears about the result in the conversation it was asked in
    await connector.wait_for(lambda: [m for m in connector.messages(posted.conversation_id) if "executed" in m.text])


@pytest.mark.parametrize(
    ("email", "why"),
    [
        ("bob.martin@example.com", "your own request"),  # the requester
        ("ivy.chen@example.com", "not one of the approvers"),  # in Teams and the directory, not an approver
        ("visitor@partner.example.org", "company directory"),  # a guest: no directory identity
    ],
)
async def test_ineligible_clicker_is_told_why_and_nothing_changes(
    server: TeamsServer, connector: BotConnectorEmulator, handler: ScriptedHandler, email: str, why: str
) -> None:
    posted, _ = await _request(server, connector)
    before = len(connector.calls)
    body = await _click(server, connector, email, posted)
    assert body["type"] == "application/vnd.microsoft.activity.message" and why in body["value"]
    await server.channel.drain()
    assert handler.executions == [] and handler.approvals[next(iter(handler.approvals))].status == "pending"
    assert connector.updates() == [] and [c.kind for c in connector.calls[before:]] in ([], ["member"])


async def test_double_submit_executes_once_and_shows_the_final_card(
    server: TeamsServer, connector: BotConnectorEmulator, handler: ScriptedHandler
) -> None:
    posted, _ = await _request(server, connector)
    await _click(server, connector, "carol.diaz@example.com", posted)
    second = await _click(server, connector, "carol.diaz@example.com", posted)
    assert len(handler.executions) == 1 and handler.decide_calls == 2
    card = second["value"]  # the clicker sees the closed card, with why nothing happened
    assert "actions" not in card and "already executed" in _texts(card)


async def test_concurrent_decisions_execute_once(
    server: TeamsServer, connector: BotConnectorEmulator, handler: ScriptedHandler
) -> None:
    posted, _ = await _request(server, connector)
    bodies = await asyncio.gather(
        _click(server, connector, "carol.diaz@example.com", posted),
        _click(server, connector, "dan.okafor@example.com", posted),
    )
    assert len(handler.executions) == 1 and handler.decide_calls == 2
    notices = [b for b in bodies if "already executed" in _texts(b["value"])]
    assert len(notices) == 1
    await connector.wait_for(lambda: connector.updates(posted.response_id))
    await server.channel.drain()
    updates = connector.updates(posted.response_id)
    stamps = {name for u in updates for name in re.findall(r"Approved by (\w+)", _texts(u.cards[0]))}
    assert len(stamps) == 1


async def test_redelivered_click_is_decided_once(
    server: TeamsServer, connector: BotConnectorEmulator, handler: ScriptedHandler
) -> None:
    posted, card = await _request(server, connector)
    action = _action(connector, connector.user("carol.diaz@example.com"), "approve", card["actions"][0]["data"], posted)
    first = await server.post(action)
    again = await server.post(action)
    assert first[0] == again[0] == 200 and handler.decide_calls == 1
    assert "actions" not in again[1]["value"] and STAMP.search(_texts(again[1]["value"]))


async def test_rejection_stamps_the_card_and_runs_nothing(
    server: TeamsServer, connector: BotConnectorEmulator, handler: ScriptedHandler
) -> None:
    posted, _ = await _request(server, connector)
    body = await _click(server, connector, "dan.okafor@example.com", posted, verb="reject")
    assert re.search(rf"Rejected by Dan Okafor at {WHEN}", _texts(body["value"]))
    [update] = await connector.wait_for(lambda: connector.updates(posted.response_id))
    assert "actions" not in update.cards[0] and handler.executions == []


async def test_four_eyes_card_keeps_buttons_until_the_second_approval(
    server: TeamsServer, connector: BotConnectorEmulator, handler: ScriptedHandler
) -> None:
    posted, _ = await _request(server, connector, "change the bank details for Acme Corp")
    first = await _click(server, connector, "carol.diaz@example.com", posted)
    assert first["value"]["actions"] and "1 more approval needed" in _texts(first["value"])
    assert handler.executions == []
    final = await _click(server, connector, "kate.novak@example.com", posted)
    assert "actions" not in final["value"] and "Carol Diaz and Kate Novak" in _texts(final["value"])
    assert len(handler.executions) == 1


async def test_expiry_refreshes_the_card_without_buttons(
    server: TeamsServer, connector: BotConnectorEmulator, handler: ScriptedHandler
) -> None:
    posted, _ = await _request(server, connector)
    [approval_id] = handler.approvals
    await handler.expire(approval_id)
    [update] = connector.updates(posted.response_id)
    card = update.cards[0]
    assert "actions" not in card and re.search(rf"Expired at {WHEN} without a decision", _texts(card))
    late = await _click(server, connector, "carol.diaz@example.com", posted)
    assert "already expired" in _texts(late["value"]) and handler.executions == []


async def test_click_after_the_deadline_expires_the_request(
    coordinator: Coordinator, connector: BotConnectorEmulator
) -> None:
    handler = ScriptedHandler(approval_ttl=timedelta(seconds=0))  # expired as soon as it is asked
    server = await start_server(handler, coordinator)
    try:
        posted, _ = await _request(server, connector)
        body = await _click(server, connector, "carol.diaz@example.com", posted)
        assert "actions" not in body["value"] and "Expired" in _texts(body["value"])
        await connector.wait_for(lambda: connector.updates(posted.response_id))
        assert handler.executions == []
    finally:
        await server.channel.drain()
        await server.stop()


async def test_outbox_refresh_updates_the_card_in_place(
    server: TeamsServer, connector: BotConnectorEmulator, handler: ScriptedHandler
) -> None:
    posted, _ = await _request(server, connector)
    [approval_id] = handler.approvals
    [ref] = handler.refs[approval_id]
    await server.channel.outbox.refresh_approval(ref, handler.approvals[approval_id])
    [update] = connector.updates(posted.response_id)
    assert update.method == "PUT" and update.conversation_id == posted.conversation_id
    assert update.body["id"] == posted.response_id and update.cards[0]["actions"]


async def test_legacy_submit_decides_and_refusals_go_to_a_private_chat(
    server: TeamsServer, connector: BotConnectorEmulator, handler: ScriptedHandler
) -> None:
    posted, card = await _request(server, connector)
    submit = card["actions"][0]["fallback"]["data"]
    ivy = connector.user("ivy.chen@example.com")
    await server.post(_submit(connector, ivy, submit, posted))
    [refusal] = await connector.wait_for(
        lambda: [m for m in connector.messages() if "not one of the approvers" in m.text]
    )
    assert refusal.conversation_id.startswith("a:") and handler.executions == []
    carol = connector.user("carol.diaz@example.com")
    await server.post(_submit(connector, carol, submit, posted))
    [update] = await connector.wait_for(lambda: connector.updates(posted.response_id))
    assert STAMP.search(_texts(update.cards[0])) and len(handler.executions) == 1


async def test_refresh_invoke_returns_the_current_card(
    server: TeamsServer, connector: BotConnectorEmulator, handler: ScriptedHandler
) -> None:
    posted, card = await _request(server, connector)
    carol = connector.user("carol.diaz@example.com")
    status, body = await server.post(_action(connector, carol, "refresh", card["actions"][0]["data"], posted))
    assert status == 200 and body["value"]["actions"] and handler.decide_calls == 0


async def test_approvers_seen_in_teams_get_a_mention_and_a_refreshing_view(
    server: TeamsServer, connector: BotConnectorEmulator, handler: ScriptedHandler
) -> None:
    carol = connector.user("carol.diaz@example.com")
    await server.post(personal_message(connector, carol, "How do I get VPN access?"))  # Carol is now known
    await connector.wait_for(lambda: connector.messages(personal_conversation(carol)))
    _, card = await _request(server, connector)
    assert card["refresh"]["userIds"] == [carol.aad_object_id]
    assert card["refresh"]["action"]["verb"] == "refresh"
    [mention] = card["msteams"]["entities"]
    assert mention["mentioned"] == {"id": carol.aad_object_id, "name": "Carol Diaz"}
    assert "<at>Carol Diaz</at> and Dan Okafor" in _texts(card)


async def test_feedback_buttons_record_the_answers_audit_id(
    server: TeamsServer, connector: BotConnectorEmulator, handler: ScriptedHandler
) -> None:
    bob = connector.user("bob.martin@example.com")
    await server.post(personal_message(connector, bob, "How do I get VPN access?"))
    [answer] = await connector.wait_for(connector.messages)
    helpful, not_helpful = answer.cards[0]["actions"]
    status, body = await server.post(_action(connector, bob, "feedback", not_helpful["data"], answer))
    assert status == 200 and "feedback" in body["value"]
    await server.post(_submit(connector, bob, helpful["fallback"]["data"], answer))
    await connector.wait_for(lambda: len(handler.feedback_calls) == 2)
    audit_id = helpful["data"]["audit_id"]
    assert handler.feedback_calls == [
        (audit_id, "bob.martin@example.com", False),
        (audit_id, "bob.martin@example.com", True),
    ]
