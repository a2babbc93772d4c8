"""The reason form in Teams over real HTTP: Reject answers with an Adaptive Card holding a required
Input.Text; its submission (Action.Execute, or Action.Submit on older clients) decides with the reason."""

from __future__ import annotations

import copy
from typing import Any

from channels.teams import reasons
from tests.channels.scripted_handler import ScriptedHandler
from tests.channels.teams.support import TeamsServer, card_action, card_submit, channel_mention
from tests.emulators.adaptive_cards import card_problems
from tests.emulators.bot_connector import BotConnectorEmulator, ConnectorCall

DAN, CAROL = "dan.okafor@example.com", "carol.diaz@example.com"


async def _request(server: TeamsServer, connector: BotConnectorEmulator) -> tuple[ConnectorCall, dict[str, Any]]:
    bob = connector.user("bob.martin@example.com")
    await server.post(channel_mention(connector, bob, "please hold INV-10077"))
    [posted] = await connector.wait_for(
        lambda: [m for m in connector.messages() if any(c.get("actions") for c in m.cards)]
    )
    await server.channel.drain()
    return posted, copy.deepcopy(posted.cards[0])


async def _execute(
    server: TeamsServer, connector: BotConnectorEmulator, email: str, verb: str, data: dict[str, Any], on: ConnectorCall
) -> dict[str, Any]:
    invoke = card_action(
        connector,
        connector.user(email),
        verb,
        data,
        conversation_id=str(on.conversation_id),
        card_id=str(on.response_id),
    )
    status, body = await server.post(invoke)
    assert status == 200 and body["statusCode"] == 200
    return body


def _facts(card: dict[str, Any]) -> str:
    return "\n".join(b.get("text", "") for b in card["body"])


async def test_reject_shows_a_valid_reason_form_and_its_submission_decides_with_the_reason(
    server: TeamsServer, connector: BotConnectorEmulator, handler: ScriptedHandler
) -> None:
    posted, card = await _request(server, connector)
    assert card_problems(card) == []
    reject = next(a for a in card["actions"] if a["verb"] == "reject")
    form = await _execute(server, connector, DAN, "reject", reject["data"], posted)
    assert form["type"] == "application/vnd.microsoft.card.adaptive" and card_problems(form["value"]) == []
    [field] = [e for e in form["value"]["body"] if e["type"] == "Input.Text"]
    assert field["id"] == reasons.FIELD and field["isRequired"] is True
    assert "Put invoice INV-10077 on payment hold" in _facts(form["value"])
    assert handler.decide_calls == 0, "opening the form decides nothing"

    submit, back = form["value"]["actions"]
    assert back["verb"] == "refresh" and back["associatedInputs"] == "none"
    # Teams merges the typed input into the action's data
    done = await _execute(
        server, connector, DAN, submit["verb"], {**submit["data"], "reason": " Paid last week. "}, posted
    )
    assert "actions" not in done["value"] and "Rejected by Dan Okafor" in _facts(done["value"])
    [approval] = handler.approvals.values()
    [decision] = approval.decisions
    assert (decision.approve, decision.comment) == (False, "Paid last week.")
    [update] = await connector.wait_for(lambda: connector.updates(posted.response_id))
    assert "actions" not in update.cards[0]


async def test_a_submitted_form_without_a_reason_comes_back_with_a_notice(
    server: TeamsServer, connector: BotConnectorEmulator, handler: ScriptedHandler
) -> None:
    posted, card = await _request(server, connector)
    form = await _execute(server, connector, DAN, "reject", card["actions"][1]["data"], posted)
    submit = form["value"]["actions"][0]
    again = await _execute(server, connector, DAN, "reject", {**submit["data"], "reason": "   "}, posted)
    assert reasons.REASON_NEEDED in _facts(again["value"]) and handler.decide_calls == 0


async def test_approve_with_comment_carries_the_comment(
    server: TeamsServer, connector: BotConnectorEmulator, handler: ScriptedHandler
) -> None:
    posted, card = await _request(server, connector)
    button = next(a for a in card["actions"] if a["verb"] == reasons.VERB_COMMENT)
    form = await _execute(server, connector, CAROL, button["verb"], button["data"], posted)
    [field] = [e for e in form["value"]["body"] if e["type"] == "Input.Text"]
    assert field["isRequired"] is False and card_problems(form["value"]) == []
    submit = form["value"]["actions"][0]
    assert submit["verb"] == "approve"
    await _execute(server, connector, CAROL, "approve", {**submit["data"], "reason": "Vendor confirmed."}, posted)
    [decision] = next(iter(handler.approvals.values())).decisions
    assert decision.approve and decision.comment == "Vendor confirmed." and handler.executions


async def test_older_clients_get_the_form_as_a_message_and_submit_it(
    server: TeamsServer, connector: BotConnectorEmulator, handler: ScriptedHandler
) -> None:
    posted, card = await _request(server, connector)
    dan = connector.user(DAN)
    fallback = next(a for a in card["actions"] if a["verb"] == "reject")["fallback"]["data"]
    where = {"conversation_id": str(posted.conversation_id), "card_id": str(posted.response_id)}
    await server.post(card_submit(connector, dan, fallback, **where))
    [sent] = await connector.wait_for(
        lambda: [
            m for m in connector.messages() if any(c.get("body", [{}])[-1].get("type") == "Input.Text" for c in m.cards)
        ]
    )
    form = sent.cards[0]
    assert card_problems(form) == [] and handler.decide_calls == 0
    value = {**form["actions"][0]["fallback"]["data"], "reason": "Duplicate request."}
    await server.post(card_submit(connector, dan, value, **where))
    await connector.wait_for(lambda: handler.decide_calls)
    [decision] = next(iter(handler.approvals.values())).decisions
    assert (decision.approve, decision.comment) == (False, "Duplicate request.")


async def test_who_may_not_decide_gets_no_form_but_the_reason(
    server: TeamsServer, connector: BotConnectorEmulator, handler: ScriptedHandler
) -> None:
    posted, card = await _request(server, connector)
    reject = next(a for a in card["actions"] if a["verb"] == "reject")
    comment = next(a for a in card["actions"] if a["verb"] == reasons.VERB_COMMENT)
    stranger = await _execute(server, connector, "kate.novak@example.com", "reject", reject["data"], posted)
    assert stranger["type"] == "application/vnd.microsoft.activity.message"
    assert "not one of the approvers" in stranger["value"]
    own = await _execute(server, connector, "bob.martin@example.com", comment["verb"], comment["data"], posted)
    assert "your own request" in own["value"]
    assert handler.may_decide_calls == 2 and handler.decide_calls == 0

    await _execute(server, connector, CAROL, "approve", card["actions"][0]["data"], posted)  # decided
    late = await _execute(server, connector, DAN, "reject", reject["data"], posted)
    # A decided request: the final card, no buttons, and why (no form over a closed request)
    assert late["type"] == "application/vnd.microsoft.card.adaptive" and "actions" not in late["value"]
    assert "already executed" in _facts(late["value"]) and not any(
        e["type"] == "Input.Text" for e in late["value"]["body"]
    )
