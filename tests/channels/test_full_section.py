"""'Show full section' over real HTTP with the real agent and the sample index: the Slack button (a signed
interactive payload) posts the answer's whole section privately to the clicker; the Teams card action (an
`adaptiveCard/action` invoke, or the Action.Submit message of older clients) replies with it in the
conversation. A bad or stale reference gets a clear message and a 200, never a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.settings import Settings, offline_runtime
from bot.wiring import Runtime, open_runtime
from channels.coordination import build_coordinator, new_namespace
from channels.core import wording
from channels.slack import actions, build_slack_channel
from channels.teams import verbs
from knowledge.chunking import split_sentences
from knowledge.section import MALFORMED, STALE
from tests.channels.slack.support import GENERAL, SIGNING_SECRET, SlackServer, click, mention, wait_for
from tests.channels.slack.test_commands import command, send
from tests.channels.teams.support import (
    TeamsServer,
    card_action,
    card_submit,
    personal_conversation,
    personal_message,
    start_server,
)
from tests.emulators.bot_connector import BotConnectorEmulator
from tests.emulators.slack_api import BOT_TOKEN, SlackApiEmulator, slack_id

offline_runtime()
pytestmark = pytest.mark.timeout(600)
BOB = "bob.martin@example.com"
QUESTION = "How many PTO days do I get per year?"  # its answer quotes part of a longer section


@dataclass
class World:
    rt: Runtime
    slack: SlackServer
    teams: TeamsServer
    slack_api: SlackApiEmulator
    connector: BotConnectorEmulator

    def section_sentences(self, ref: str) -> list[str]:
        """Every sentence of the referenced chunk's section, read from the index's chunks directly."""
        chunk_id = int(ref.rpartition(":")[2])
        chunks = self.rt.deps.knowledge.retriever.chunks  # type: ignore[attr-defined]
        top = next(c for c in chunks if c.id == chunk_id)
        same = [c for c in chunks if c.source == top.source and c.heading == top.heading]
        return [s for c in same for line in c.text.split("\n") for s in split_sentences(line.strip())]


@pytest.fixture(scope="module")
async def world(
    tmp_path_factory: pytest.TempPathFactory, sample_index: Path, embedder: Any, redis_url: str
) -> AsyncIterator[World]:
    tmp = tmp_path_factory.mktemp("section")
    slack_api, connector = SlackApiEmulator(), BotConnectorEmulator()
    await slack_api.start()
    await connector.start()
    coordinator = build_coordinator(redis_url, namespace=new_namespace("section"))
    async with open_runtime(Settings(data_dir=tmp / "data", index_dir=sample_index), embedder=embedder) as rt:
        slack = build_slack_channel(
            rt.agent,
            bot_token=BOT_TOKEN,
            signing_secret=SIGNING_SECRET,
            api_url=slack_api.base_url,
            coordinator=coordinator,
        )
        rt.fanout.outboxes["slack"] = slack.outbox
        teams = await start_server(rt.agent, coordinator, extra_attach=(slack.attach,))
        rt.fanout.outboxes["teams"] = teams.channel.outbox
        slack_server = SlackServer(channel=slack, runner=teams.runner, url=teams.url, session=teams.session)
        yield World(rt, slack_server, teams, slack_api, connector)
        await slack.drain()
        await teams.channel.drain()
        await teams.stop()
    await coordinator.close()
    await slack_api.stop()
    await connector.stop()


def _slack_text(entry: dict[str, Any]) -> str:
    return "\n".join(b["text"]["text"] for b in entry.get("blocks", []) if b.get("type") == "section")


async def test_slack_button_posts_the_whole_section_privately_to_the_clicker(world: World) -> None:
    api, bob = world.slack_api, slack_id(BOB)
    ask = mention(bob, QUESTION)
    await world.slack.deliver(ask)
    [start] = await wait_for(lambda: [c for c in api.of("chat.startStream") if c.params["thread_ts"] == ask["ts"]])
    ts = start.response["ts"]
    [stop] = await wait_for(lambda: [c for c in api.of("chat.stopStream") if c.params["ts"] == ts], timeout=60)
    buttons = [e for b in stop.params["blocks"] if b["type"] == "actions" for e in b["elements"]]
    [show] = [e for e in buttons if e["action_id"] == actions.SHOW_SECTION]
    ref = show["value"]
    shown = "\n".join(b["text"]["text"] for b in stop.params["blocks"] if b["type"] == "section") + str(
        stop.params.get("markdown_text", "")
    )

    response = await world.slack.interact(click(bob, actions.SHOW_SECTION, ref, channel=GENERAL, message_ts=ts,
                                                thread_ts=ask["ts"]))  # fmt: skip
    assert response.status == 200
    [private] = await wait_for(lambda: [e for e in api.private.ephemeral if e["user"] == bob], timeout=60)
    assert private["channel"] == GENERAL and private["thread_ts"] == ask["ts"]
    text = _slack_text(private)
    sentences = world.section_sentences(ref)
    assert sentences and all(s in text for s in sentences)
    assert any(s not in shown for s in sentences)  # the answer had left part of it out
    assert not [p for p in api.posts(GENERAL) if sentences[-1] in str(p.params.get("text"))]  # never public

    # A reference from an index version no longer served, and one that is not a reference at all.
    for value, told in (("20000101T000000000000Z:1", STALE), ("bogus", MALFORMED)):
        before = len(api.private.ephemeral)
        response = await world.slack.interact(click(bob, actions.SHOW_SECTION, value, channel=GENERAL, message_ts=ts,
                                                    thread_ts=ask["ts"]))  # fmt: skip
        assert response.status == 200
        [note] = await wait_for(lambda b=before: api.private.ephemeral[b:], timeout=30)  # type: ignore[misc]
        assert note["user"] == bob and told in _slack_text(note)


def _buttons(message: dict[str, Any]) -> dict[str, str]:
    return {
        e["action_id"]: e["value"] for b in message.get("blocks", []) if b["type"] == "actions" for e in b["elements"]
    }


def _url(api: SlackApiEmulator, url_id: str) -> str:
    return f"http://127.0.0.1:{api.port}/response/{url_id}"


async def test_slash_command_outside_the_bots_channels_gets_the_section_through_the_response_url(
    world: World,
) -> None:
    """`/deskhand` in a public channel the bot has not joined: Slack refuses chat.postEphemeral there
    (not_in_channel), so the answer and the section both go through the response_urls Slack gave."""
    api, dan, channel = world.slack_api, slack_id("dan.okafor@example.com"), "C_NOT_JOINED"
    api.private.not_joined.add(channel)
    fields = command(api, dan, QUESTION, channel=channel)
    assert (await send(world.slack, fields))[0] == 200
    asked = fields["response_url"].rsplit("/", 1)[1]
    [answer] = await wait_for(lambda: api.private.shown.get(asked), timeout=60)
    ref = _buttons(answer)[actions.SHOW_SECTION]
    refused = [c for c in api.of("chat.postEphemeral", ok_only=False) if c.params["channel"] == channel]
    assert refused and all(c.response["error"] == "not_in_channel" for c in refused)

    # The click on that ephemeral answer carries a response_url of its own: the section goes there, as a new
    # ephemeral message (the answer stays), and chat.postEphemeral is not tried again.
    tries = len(api.of("chat.postEphemeral", ok_only=False))
    url = _url(api, "show-outside")
    payload = click(dan, actions.SHOW_SECTION, ref, channel=channel, message_ts="1.0", ephemeral=True, response_url=url)
    assert (await world.slack.interact(payload)).status == 200
    [shown] = await wait_for(lambda: api.private.shown.get("show-outside"), timeout=60)
    assert shown["response_type"] == "ephemeral" and shown["replace_original"] is False
    text = _slack_text(shown)
    sentences = world.section_sentences(ref)
    assert sentences and all(s in text for s in sentences)
    assert len(api.of("chat.postEphemeral", ok_only=False)) == tries
    assert api.private.shown[asked] == [answer]  # the answer itself was left as it was


async def test_a_refused_channel_or_url_falls_back_to_the_other_way(world: World) -> None:
    """A public answer in a channel the bot has since left: chat.postEphemeral is refused, the click's
    response_url delivers. An ephemeral answer whose response_url has expired: chat.postEphemeral delivers."""
    api, erin = world.slack_api, slack_id("erin.walsh@example.com")
    ask = mention(erin, QUESTION)
    await world.slack.deliver(ask)
    [start] = await wait_for(lambda: [c for c in api.of("chat.startStream") if c.params["thread_ts"] == ask["ts"]])
    ts = start.response["ts"]
    [stop] = await wait_for(lambda: [c for c in api.of("chat.stopStream") if c.params["ts"] == ts], timeout=60)
    ref = _buttons(stop.params)[actions.SHOW_SECTION]
    sentences = world.section_sentences(ref)

    api.private.not_joined.add("C_LEFT")  # the bot was removed from the channel after answering
    url = _url(api, "show-left")
    left = click(
        erin, actions.SHOW_SECTION, ref, channel="C_LEFT", message_ts=ts, thread_ts=ask["ts"], response_url=url
    )
    assert (await world.slack.interact(left)).status == 200
    [shown] = await wait_for(lambda: api.private.shown.get("show-left"), timeout=60)
    assert all(s in _slack_text(shown) for s in sentences)
    [refused] = [c for c in api.of("chat.postEphemeral", ok_only=False) if c.params["channel"] == "C_LEFT"]
    assert refused.response["error"] == "not_in_channel"

    api.private.expire("show-expired")  # an ephemeral answer clicked after its response_url's 30 minutes
    before = len(api.private.ephemeral)
    url = _url(api, "show-expired")
    late = click(erin, actions.SHOW_SECTION, ref, channel=GENERAL, message_ts="2.0", ephemeral=True, response_url=url)
    assert (await world.slack.interact(late)).status == 200
    [private] = await wait_for(lambda: api.private.ephemeral[before:], timeout=60)
    assert private["user"] == erin and private["channel"] == GENERAL
    assert all(s in _slack_text(private) for s in sentences) and "show-expired" not in api.private.shown


async def test_teams_card_action_replies_with_the_whole_section(world: World) -> None:
    connector = world.connector
    bob = connector.user(BOB)
    chat = personal_conversation(bob)
    await world.teams.post(personal_message(connector, bob, QUESTION))

    def answer_cards() -> list[tuple[Any, dict[str, Any]]]:
        found = []
        for call in connector.messages(chat):
            for attachment in (call.body or {}).get("attachments") or ():
                for action in attachment.get("content", {}).get("actions") or ():
                    if action.get("verb") == verbs.SECTION:
                        found.append((call, action))
        return found

    [(answer, action)] = await connector.wait_for(answer_cards, timeout=60)
    ref = action["data"]["section"]
    assert action["fallback"]["data"] == {"verb": verbs.SECTION, "section": ref}
    before = len(connector.messages(chat))
    card_id = answer.response_id or "answer"
    status, body = await world.teams.post(card_action(connector, bob, verbs.SECTION, {"section": ref},
                                                      conversation_id=chat, card_id=card_id))  # fmt: skip
    assert status == 200 and body["value"] == wording.SECTION_SENT
    sentences = world.section_sentences(ref)
    replies = await connector.wait_for(lambda: connector.messages(chat)[before:], timeout=30)
    text = "\n".join(str(r.body.get("text")) for r in replies)
    assert sentences and all(s in text for s in sentences)

    # Older clients: the Action.Submit fallback with a stale reference is told why, privately, not a 500.
    before = len(connector.messages())
    submit = card_submit(connector, bob, {"verb": verbs.SECTION, "section": "20000101T000000000000Z:1"},
                         conversation_id=chat, card_id=card_id)  # fmt: skip
    status, _ = await world.teams.post(submit)
    assert status in (200, 201, 202)
    [note] = await connector.wait_for(lambda: connector.messages()[before:], timeout=30)
    assert STALE in str(note.body.get("text"))
