"""The same walk in Teams, with the real agent on PostgreSQL: a new approver asks "what's waiting for me?"
in a personal chat, gets the card, clicks Reject, types the reason in the form; the requester's reply chain
hears the outcome with the reason, and the audit entry holds it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from channels.coordination import Coordinator
from channels.teams import reasons
from tests.channels.teams.support import (
    card_action,
    channel_mention,
    personal_conversation,
    personal_message,
    start_server,
)
from tests.emulators.adaptive_cards import card_problems
from tests.emulators.bot_connector import BotConnectorEmulator, ConnectorCall

REASON = "Duplicate of the hold finance placed this morning."


def _is_card(call: ConnectorCall) -> bool:
    return any(c.get("actions") and c["actions"][0].get("verb") == "approve" for c in call.cards)


@pytest.mark.timeout(600)
async def test_a_new_approver_rejects_with_a_reason_from_teams(
    pg_agent: Callable[[], Any], coordinator: Coordinator, connector: BotConnectorEmulator
) -> None:
    async with pg_agent() as rt:
        server = await start_server(rt.agent, coordinator)
        rt.fanout.outboxes["teams"] = server.channel.outbox
        try:
            hector, dan = connector.user("hector.ruiz@example.com"), connector.user("dan.okafor@example.com")
            ask = channel_mention(connector, hector, "please put a hold on invoice INV-10077")
            await server.post(ask)
            await connector.wait_for(
                lambda: [m for m in connector.messages(ask["conversation"]["id"]) if _is_card(m)], 60
            )
            await server.channel.drain()

            await server.post(personal_message(connector, dan, "is there anything I need to approve?"))
            chat = personal_conversation(dan)
            [card_message] = await connector.wait_for(lambda: [m for m in connector.messages(chat) if _is_card(m)], 60)
            await server.channel.drain()
            assert any("wait for your decision" in m.text for m in connector.messages(chat))
            card = card_message.cards[0]
            assert card_problems(card) == []
            reject = next(a for a in card["actions"] if a["verb"] == "reject")
            where = {"conversation_id": chat, "card_id": str(card_message.response_id)}

            status, form = await server.post(card_action(connector, dan, "reject", reject["data"], **where))
            assert status == 200 and card_problems(form["value"]) == []
            assert any(e.get("id") == reasons.FIELD and e["isRequired"] for e in form["value"]["body"])
            submit = form["value"]["actions"][0]
            status, decided = await server.post(
                card_action(connector, dan, submit["verb"], {**submit["data"], reasons.FIELD: REASON}, **where)
            )
            assert status == 200 and "actions" not in decided["value"]

            told = await connector.wait_for(
                lambda: [m for m in connector.messages(ask["conversation"]["id"]) if REASON in m.text], 60
            )
            assert "rejected" in told[0].text
            await server.channel.drain()
            approval = rt.approvals.list("rejected")[0]
            [entry] = [
                e
                for e in rt.audit.tail(200)
                if e.request_id == approval.id
                and e.kind == "approval_decision"
                and e.payload.get("became") == "rejected"
            ]
            assert entry.actor == "dan.okafor@example.com" and entry.payload["comment"] == REASON
        finally:
            await server.channel.drain()
            await server.stop()
