"""Messages over real HTTP: chats, reply chains, welcome, privacy, redelivery, ordering, the error boundary."""

from __future__ import annotations

import asyncio
import logging
import re

import pytest

from channels.core import wording
from channels.teams import render
from tests.channels.scripted_handler import KNOWLEDGE_TEXT, ScriptedHandler
from tests.channels.teams.support import (
    CHANNEL_ROOT,
    TeamsServer,
    channel_mention,
    group_mention,
    members_added,
    personal_conversation,
    personal_message,
)
from tests.emulators.bot_connector import BotConnectorEmulator


async def test_personal_chat_answer_carries_citations_and_feedback(
    server: TeamsServer, connector: BotConnectorEmulator, handler: ScriptedHandler
) -> None:
    bob = connector.user("bob.martin@example.com")
    activity = personal_message(connector, bob, "How do I get VPN access?")
    status, _ = await server.post(activity)
    assert status == 202
    [reply] = await connector.wait_for(connector.messages)
    assert reply.kind == "reply" and reply.target_id == activity["id"]
    assert reply.conversation_id == personal_conversation(bob)
    assert reply.text == KNOWLEDGE_TEXT and "[1]" in reply.text and "[2]" in reply.text
    [entity] = [e for e in reply.body["entities"] if e["type"] == "https://schema.org/Message"]
    assert [c["position"] for c in entity["citation"]] == [1, 2]
    assert entity["citation"][0]["appearance"]["name"] == "VPN access"
    assert entity["citation"][0]["appearance"]["url"] == "https://wiki.example.com/it/vpn"
    [card] = reply.cards
    card_text = " ".join(b.get("text", "") for b in card["body"])
    assert (
        "[1] [VPN access — Requesting access](https://wiki.example.com/it/vpn)" in card_text
        and "[2] IT handbook" in card_text
    )
    verbs = [(a["verb"], a["data"]["helpful"]) for a in card["actions"]]
    assert verbs == [("feedback", True), ("feedback", False)]
    assert all(re.fullmatch(r"aud-\d+", a["data"]["audit_id"]) for a in card["actions"])
    [turn] = handler.turns
    assert turn.channel == "teams" and turn.user_email == "bob.martin@example.com"
    assert turn.user_id == bob.aad_object_id and not turn.shared
    assert turn.conversation_key == f"teams:{personal_conversation(bob)}"


async def test_channel_mention_is_stripped_and_answered_in_the_reply_chain(
    server: TeamsServer, connector: BotConnectorEmulator, handler: ScriptedHandler
) -> None:
    bob = connector.user("bob.martin@example.com")
    activity = channel_mention(connector, bob, "how do I get VPN access?", root="1741010400000")
    await server.post(activity)
    [reply] = await connector.wait_for(connector.messages)
    chain = f"{CHANNEL_ROOT};messageid=1741010400000"
    assert reply.conversation_id == chain and reply.target_id == activity["id"]
    [turn] = handler.turns
    assert turn.text == "how do I get VPN access?"  # no "<at>Deskhand</at>", no leading space
    assert turn.shared and turn.conversation_key == f"teams:{chain}"
    assert turn.conversation_ref["conversation"]["id"] == chain


async def test_group_chat_mention_is_answered_in_the_group(
    server: TeamsServer, connector: BotConnectorEmulator, handler: ScriptedHandler
) -> None:
    ivy = connector.user("ivy.chen@example.com")
    activity = group_mention(connector, ivy, "how do I get VPN access?")
    await server.post(activity)
    [reply] = await connector.wait_for(connector.messages)
    assert reply.conversation_id == activity["conversation"]["id"]
    assert handler.turns[0].text == "how do I get VPN access?" and handler.turns[0].shared


async def test_a_bare_mention_gets_help_without_a_turn(
    server: TeamsServer, connector: BotConnectorEmulator, handler: ScriptedHandler
) -> None:
    activity = channel_mention(connector, connector.user("bob.martin@example.com"), "")
    await server.post(activity)
    [reply] = await connector.wait_for(connector.messages)
    assert reply.text == render.HELP and handler.turns == []


async def test_new_personal_chat_gets_one_welcome(
    server: TeamsServer, connector: BotConnectorEmulator, handler: ScriptedHandler
) -> None:
    bob = connector.user("bob.martin@example.com")
    await server.post(members_added(connector, bob))
    [welcome] = await connector.wait_for(connector.messages)
    assert welcome.text == render.WELCOME and welcome.conversation_id == personal_conversation(bob)
    # Teams may send another update for the same chat (e.g. the app reinstalled): no second welcome.
    await server.post(members_added(connector, bob))
    await server.post(personal_message(connector, bob, "How do I get VPN access?"))
    await connector.wait_for(lambda: len(connector.messages()) == 2)
    await server.channel.drain()
    assert [m.text for m in connector.messages()] == [render.WELCOME, KNOWLEDGE_TEXT]


async def test_financial_result_asked_in_a_channel_goes_to_a_private_chat(
    server: TeamsServer, connector: BotConnectorEmulator
) -> None:
    bob = connector.user("bob.martin@example.com")
    activity = channel_mention(connector, bob, "what is the status of INV-10042?")
    await server.post(activity)
    await connector.wait_for(lambda: len(connector.messages()) == 2)
    [created] = [c for c in connector.calls if c.kind == "create_conversation"]
    assert created.body["members"] == [{"id": bob.id}] and created.body["isGroup"] is False
    assert created.body["tenantID"] == activity["channelData"]["tenant"]["id"]
    private = [m for m in connector.messages() if m.conversation_id.startswith("a:")]
    public = connector.messages(activity["conversation"]["id"])
    assert len(private) == 1 and "INV-10042" in private[0].text and "EUR" in private[0].text
    assert [m.text for m in public] == [wording.SENT_PRIVATELY]


async def test_financial_result_in_a_personal_chat_stays_there(
    server: TeamsServer, connector: BotConnectorEmulator
) -> None:
    bob = connector.user("bob.martin@example.com")
    await server.post(personal_message(connector, bob, "what is the status of INV-10042?"))
    [reply] = await connector.wait_for(connector.messages)
    assert "EUR" in reply.text and reply.conversation_id == personal_conversation(bob)
    assert not [c for c in connector.calls if c.kind == "create_conversation"]


async def test_redelivered_activity_is_answered_once(
    server: TeamsServer, connector: BotConnectorEmulator, handler: ScriptedHandler
) -> None:
    activity = personal_message(connector, connector.user("bob.martin@example.com"), "How do I get VPN access?")
    statuses = await asyncio.gather(*(server.post(activity) for _ in range(4)))
    assert [s for s, _ in statuses] == [202] * 4
    await connector.wait_for(connector.messages)
    await server.channel.drain()
    assert len(connector.messages()) == 1 and len(handler.turns) == 1


async def test_same_message_id_in_another_conversation_is_not_a_duplicate(
    server: TeamsServer, connector: BotConnectorEmulator, handler: ScriptedHandler
) -> None:
    first = personal_message(connector, connector.user("bob.martin@example.com"), "VPN?")
    second = personal_message(connector, connector.user("ivy.chen@example.com"), "VPN?")
    second["id"] = first["id"]  # Teams message ids are timestamps: unique per conversation only
    await server.post(first)
    await server.post(second)
    await connector.wait_for(lambda: len(connector.messages()) == 2)
    assert len(handler.turns) == 2


async def test_one_turn_at_a_time_per_conversation(
    server: TeamsServer, connector: BotConnectorEmulator, handler: ScriptedHandler
) -> None:
    bob = connector.user("bob.martin@example.com")
    texts = [f"slow question {i}" for i in range(3)]
    for text in texts:
        await server.post(personal_message(connector, bob, text))
    await connector.wait_for(lambda: len(connector.messages()) == 3, timeout=10)
    assert handler.max_active[f"teams:{personal_conversation(bob)}"] == 1


async def test_conversations_do_not_wait_for_each_other(
    server: TeamsServer, connector: BotConnectorEmulator, handler: ScriptedHandler
) -> None:
    users = [connector.user(e) for e in ("bob.martin@example.com", "ivy.chen@example.com", "sam.taylor@example.com")]
    await asyncio.gather(*(server.post(personal_message(connector, u, "slow question")) for u in users))
    await connector.wait_for(lambda: len(connector.messages()) == 3, timeout=10)
    assert handler.peak_total > 1


async def test_unexpected_error_shows_a_reference_never_the_exception(
    server: TeamsServer, connector: BotConnectorEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="channels")
    await server.post(personal_message(connector, connector.user("bob.martin@example.com"), "boom"))
    [reply] = await connector.wait_for(connector.messages)
    apology = r"Sorry, something went wrong on my side \(reference ([0-9A-F]{8})\)\. Please try again\."
    match = re.fullmatch(apology, reply.text)
    assert match, reply.text
    assert "hunter2" not in reply.text and "RuntimeError" not in reply.text
    logged = [r for r in caplog.records if match.group(1) in r.getMessage()]
    assert logged and logged[0].exc_info is not None


async def test_unknown_member_is_passed_on_without_an_identity(
    server: TeamsServer, connector: BotConnectorEmulator, handler: ScriptedHandler
) -> None:
    bob = connector.user("bob.martin@example.com")
    activity = personal_message(connector, bob, "How do I get VPN access?")
    activity["from"] = {"id": "29:1guest", "name": "Vic Visitor", "aadObjectId": "9d9d9d9d-0000-4000-8000-000000000001"}
    await server.post(activity)
    await connector.wait_for(connector.messages)
    [turn] = handler.turns
    assert turn.user_email is None and turn.user_id == "9d9d9d9d-0000-4000-8000-000000000001"


async def test_member_profile_is_looked_up_once(
    server: TeamsServer, connector: BotConnectorEmulator, handler: ScriptedHandler
) -> None:
    bob = connector.user("bob.martin@example.com")
    for _ in range(3):
        await server.post(personal_message(connector, bob, "How do I get VPN access?"))
    await connector.wait_for(lambda: len(connector.messages()) == 3)
    assert len([c for c in connector.calls if c.kind == "member"]) == 1
    assert {t.user_email for t in handler.turns} == {"bob.martin@example.com"}


async def test_connector_failure_on_reply_is_logged_with_a_reference(
    server: TeamsServer, connector: BotConnectorEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    bob = connector.user("bob.martin@example.com")
    await server.post(personal_message(connector, bob, "warm up the profile cache"))
    await connector.wait_for(connector.messages)
    caplog.set_level(logging.WARNING, logger="channels")
    connector.fail_next(1, status=503, method="POST", activity_type="message")  # the answer, not typing
    await server.post(personal_message(connector, bob, "How do I get VPN access?"))
    # the answer failed; the apology (its own POST) gets through, carrying the logged reference
    apology = await connector.wait_for(lambda: [m for m in connector.messages() if "reference" in m.text])
    ref = re.search(r"reference ([0-9A-F]{8})", apology[0].text)
    assert ref and any(ref.group(1) in r.getMessage() for r in caplog.records)


async def test_only_the_bots_mention_is_removed_from_the_text(
    server: TeamsServer, connector: BotConnectorEmulator, handler: ScriptedHandler
) -> None:
    bob, maya = connector.user("bob.martin@example.com"), connector.user("maya.patel@example.com")
    activity = channel_mention(connector, bob, "can Deskhand add <at>Maya Patel</at> to vpn-users?")
    activity["entities"].append(
        {"type": "mention", "text": "<at>Maya Patel</at>", "mentioned": {"id": maya.id, "name": "Maya Patel"}}
    )
    await server.post(activity)
    await connector.wait_for(connector.messages)
    assert handler.turns[0].text == "can Deskhand add Maya Patel to vpn-users?"
