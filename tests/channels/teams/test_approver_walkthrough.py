"""The same walk in Teams, with the real agent on PostgreSQL: a new approver asks "what's waiting for me?"
in a personal chat, gets the card, clicks Reject, types the reason in the form; the requester's reply chain
hears the outcome with the reason, and the audit entry holds it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from channels.coordination import Coordinator
from channels.core import wording
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


COMMENT = "Checked with the vendor: the hold is right until the credit note arrives."


def _reads(card: dict[str, Any]) -> str:
    """What a person reads on a card: its text blocks and facts."""
    out: list[str] = []
    for element in card.get("body", []):
        out.append(str(element.get("text", "")))
        out += [f"{f.get('title', '')} {f.get('value', '')}" for f in element.get("facts", [])]
        for column in element.get("columns", []):
            out += [str(i.get("text", "")) for i in column.get("items", [])]
    return "\n".join(out)


@pytest.mark.timeout(600)
async def test_a_new_approver_approves_with_a_comment_from_teams(
    pg_agent: Callable[[], Any], coordinator: Coordinator, connector: BotConnectorEmulator
) -> None:
    async with pg_agent() as rt:
        server = await start_server(rt.agent, coordinator)
        rt.fanout.outboxes["teams"] = server.channel.outbox
        try:
            hector, carol = connector.user("hector.ruiz@example.com"), connector.user("carol.diaz@example.com")
            ask = channel_mention(connector, hector, "please put a hold on invoice INV-10077")
            await server.post(ask)
            [original] = await connector.wait_for(
                lambda: [m for m in connector.messages(ask["conversation"]["id"]) if _is_card(m)], 60
            )
            await server.channel.drain()
            assert "Approval needed" in _reads(original.cards[0])

            # Carol asks what waits for her in her personal chat and gets the card.
            await server.post(personal_message(connector, carol, "what's waiting for me?"))
            chat = personal_conversation(carol)
            [card_message] = await connector.wait_for(lambda: [m for m in connector.messages(chat) if _is_card(m)], 60)
            await server.channel.drain()
            card = card_message.cards[0]
            button = next(a for a in card["actions"] if a["title"].startswith("Approve with comment"))
            where = {"conversation_id": chat, "card_id": str(card_message.response_id)}

            # She clicks "Approve with comment…": the form says who reads it; the comment is optional.
            status, form = await server.post(card_action(connector, carol, button["verb"], button["data"], **where))
            assert status == 200 and card_problems(form["value"]) == []
            assert "requester sees your comment" in _reads(form["value"])
            [field] = [e for e in form["value"]["body"] if e.get("id") == reasons.FIELD]
            assert field["isRequired"] is False
            submit = form["value"]["actions"][0]
            assert submit["title"] == "Approve"
            status, decided = await server.post(
                card_action(connector, carol, submit["verb"], {**submit["data"], reasons.FIELD: COMMENT}, **where)
            )
            # Her card now shows her decision; the hold needs a second approver, who still has the buttons.
            assert status == 200 and "Approved by Carol Diaz" in _reads(decided["value"])
            assert "1 more approval needed" in _reads(decided["value"])
            # Clicking "Approve with comment…" again tells her why not, with no form.
            status, again = await server.post(card_action(connector, carol, button["verb"], button["data"], **where))
            assert status == 200 and "already approved" in str(again["value"])

            # Dan approves from his own chat's card (plain Approve).
            dan = connector.user("dan.okafor@example.com")
            await server.post(personal_message(connector, dan, "anything waiting for me?"))
            dans = personal_conversation(dan)
            [dan_card] = await connector.wait_for(lambda: [m for m in connector.messages(dans) if _is_card(m)], 60)
            await server.channel.drain()
            approve = next(a for a in dan_card.cards[0]["actions"] if a["title"] == "Approve")
            where = {"conversation_id": dans, "card_id": str(dan_card.response_id)}
            status, done = await server.post(card_action(connector, dan, approve["verb"], approve["data"], **where))
            assert status == 200 and "actions" not in done["value"]
            assert "Approval needed" not in _reads(done["value"])

            # Hector hears who approved, Carol's comment and the result: an invoice's status is financial, so
            # in his private chat, with a pointer left in the channel's reply chain.
            told = await connector.wait_for(lambda: [m for m in connector.messages() if COMMENT in m.text], 60)
            assert str(told[0].conversation_id).startswith("a:"), "a private chat, not the channel"
            assert any(m.text == wording.SENT_PRIVATELY for m in connector.messages(ask["conversation"]["id"]))
            assert "Approved by carol.diaz@example.com and dan.okafor@example.com" in told[0].text
            await server.channel.drain()
            # The card in his chain was redrawn: no buttons, no longer "Approval needed".
            update = connector.updates(original.response_id)[-1]
            assert "actions" not in update.cards[0] and "Approval needed" not in _reads(update.cards[0])

            approval = rt.approvals.list("executed")[0]
            [entry] = [
                e
                for e in rt.audit.tail(200)
                if e.request_id == approval.id and e.kind == "approval_decision" and e.payload.get("comment") == COMMENT
            ]
            assert entry.actor == "carol.diaz@example.com" and entry.payload["accepted"] is True
        finally:
            await server.channel.drain()
            await server.stop()
