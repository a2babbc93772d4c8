"""One approval, every channel: asked in Teams and decided in Slack and vice versa; every copy is updated."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from channels.base import Reply
from channels.coordination import Coordinator
from channels.slack import actions, build_slack_channel
from tests.channels.scripted_handler import ScriptedHandler
from tests.channels.slack.support import GENERAL, SIGNING_SECRET, SlackServer, click, mention, wait_for
from tests.channels.teams.support import (
    TeamsServer,
    card_action,
    channel_mention,
    personal_conversation,
    personal_message,
    start_server,
)
from tests.emulators.bot_connector import BotConnectorEmulator
from tests.emulators.slack_api import BOT_TOKEN, SlackApiEmulator


@dataclass
class Both:
    teams: TeamsServer
    slack: SlackServer  # the same web app, seen through Slack's test client


@pytest.fixture
async def slack_api() -> AsyncIterator[SlackApiEmulator]:
    emulator = SlackApiEmulator()
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
async def both(
    handler: ScriptedHandler,
    coordinator: Coordinator,
    connector: BotConnectorEmulator,
    slack_api: SlackApiEmulator,
) -> AsyncIterator[Both]:
    slack = build_slack_channel(
        handler,
        bot_token=BOT_TOKEN,
        signing_secret=SIGNING_SECRET,
        api_url=slack_api.base_url,
        coordinator=coordinator,
    )
    handler.add_outbox(slack.outbox)
    teams = await start_server(handler, coordinator, extra_attach=(slack.attach,))
    yield Both(teams, SlackServer(channel=slack, runner=teams.runner, url=teams.url, session=teams.session))
    await slack.drain()
    await teams.channel.drain()
    await teams.stop()


def _card_texts(card: dict[str, Any]) -> str:
    return "\n".join([b.get("text", "") for b in card["body"]])


def _slack_buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in message["blocks"] if b.get("block_id") == actions.APPROVAL_BUTTONS_BLOCK for e in b["elements"]]


async def test_requested_in_teams_decided_in_slack(
    both: Both, connector: BotConnectorEmulator, slack_api: SlackApiEmulator, handler: ScriptedHandler
) -> None:
    bob = connector.user("bob.martin@example.com")
    ask = channel_mention(connector, bob, "please hold INV-10077")
    await both.teams.post(ask)
    [card_message] = await connector.wait_for(
        lambda: [m for m in connector.messages() if m.body.get("summary", "").startswith("Approval")]
    )
    await both.teams.channel.drain()
    [approval_id] = handler.approvals

    payload = click("U_CAROL", actions.APPROVE, approval_id, channel=GENERAL, message_ts="1700000000.000100")
    response = await both.slack.interact(payload)
    assert response.status == 200

    [update] = await connector.wait_for(lambda: connector.updates(card_message.response_id))
    card = update.cards[0]
    assert "actions" not in card and re.search(r"Approved by Carol Diaz at \{\{TIME\(\S+Z\)\}\}", _card_texts(card))
    assert handler.executions == [approval_id]
    # Bob hears the outcome where he asked, in the Teams reply chain
    await connector.wait_for(lambda: [m for m in connector.messages(ask["conversation"]["id"]) if "executed" in m.text])


async def test_requested_in_slack_decided_in_teams_updates_both(
    both: Both, connector: BotConnectorEmulator, slack_api: SlackApiEmulator, handler: ScriptedHandler
) -> None:
    carol = connector.user("carol.diaz@example.com")
    await both.teams.post(personal_message(connector, carol, "How do I get VPN access?"))
    await connector.wait_for(lambda: connector.messages(personal_conversation(carol)))
    await both.teams.channel.drain()
    carol_chat = handler.turns[-1].conversation_ref  # what the core keeps to reach Carol in Teams

    event = mention("U_BOB", "please hold INV-10077")
    await both.slack.deliver(event)
    slack_card = (await _wait_slack_card(slack_api, event["ts"]))[0]
    [approval_id] = handler.approvals

    # the core shows the request to an approver it can reach in Teams
    await both.teams.channel.outbox.notify(
        carol_chat,
        Reply(text="An approval is waiting for you.", route="approval", approval=handler.approvals[approval_id]),
    )
    [teams_card] = [
        m for m in connector.messages(personal_conversation(carol)) if "approval" in m.body.get("summary", "").lower()
    ]
    assert [r.channel for r in handler.refs[approval_id]] == ["slack", "teams"]

    status, body = await both.teams.post(
        card_action(
            connector,
            carol,
            "approve",
            teams_card.cards[0]["actions"][0]["data"],
            conversation_id=personal_conversation(carol),
            card_id=str(teams_card.response_id),
        )
    )
    assert status == 200 and "actions" not in body["value"]
    assert handler.executions == [approval_id]
    await connector.wait_for(lambda: connector.updates(teams_card.response_id))
    slack_message = await _wait_slack_update(slack_api, slack_card["ts"])
    assert _slack_buttons(slack_message) == []


async def _wait_slack_card(slack_api: SlackApiEmulator, thread_ts: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = await wait_for(
        lambda: [m for m in slack_api.thread(GENERAL, thread_ts) if _slack_buttons(m)]
    )
    return found


async def _wait_slack_update(slack_api: SlackApiEmulator, ts: str) -> dict[str, Any]:
    message: dict[str, Any] = await wait_for(
        lambda: slack_api.messages[(GENERAL, ts)] if slack_api.messages[(GENERAL, ts)]["updates"] else None
    )
    return message
