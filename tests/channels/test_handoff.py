"""Hand-offs over real HTTP with the real agent: the question reaches the team's Slack / Teams channel with a
link back, and a team member's answer in that thread reaches the requester, attributed to them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.settings import Settings, offline_runtime
from bot.wiring import Runtime, open_runtime
from channels.coordination import build_coordinator, new_namespace
from channels.slack import actions, build_slack_channel
from tests.channels.slack.support import GENERAL, SIGNING_SECRET, SlackServer, click, mention, thread_reply, wait_for
from tests.channels.teams.support import (
    CHANNEL_ROOT,
    TeamsServer,
    channel_mention,
    personal_conversation,
    personal_message,
    start_server,
)
from tests.emulators.bot_connector import BotConnectorEmulator
from tests.emulators.slack_api import BOT_TOKEN, BOT_USER_ID, TEAM_ID, SlackApiEmulator, slack_id

offline_runtime()
pytestmark = pytest.mark.timeout(600)
BOB, OLIVIA = "bob.martin@example.com", "olivia.rossi@example.com"
HR_SLACK = "C_HR"
ASK = "I want to talk to a person in HR"


@dataclass
class World:
    rt: Runtime
    slack: SlackServer
    teams: TeamsServer
    slack_api: SlackApiEmulator
    connector: BotConnectorEmulator

    def handoff_for_thread(self, key: str) -> Any:
        return self.rt.deps.handoffs._store.by_team_thread(key)


def write_contacts(path: Path) -> Path:
    path.write_text(
        "teams:\n"
        "  hr:\n"
        "    name: HR\n"
        "    contact: hr-help@example.com\n"
        f"    slack: {{channel: {HR_SLACK}, name: '#ask-hr'}}\n"
        f"    microsoft_teams: {{conversation_id: '{CHANNEL_ROOT}', name: 'People › Help'}}\n"
        "  it: {name: IT, contact: it-help@example.com}\n"
        "  ap: {name: Accounts Payable, contact: ap@example.com}\n"
    )
    return path


@pytest.fixture(scope="module")
async def world(
    tmp_path_factory: pytest.TempPathFactory, sample_index: Path, embedder: Any, redis_url: str
) -> AsyncIterator[World]:
    tmp = tmp_path_factory.mktemp("handoff")
    slack_api, connector = SlackApiEmulator(), BotConnectorEmulator()
    await slack_api.start()
    await connector.start()
    coordinator = build_coordinator(redis_url, namespace=new_namespace("handoff"))
    settings = Settings(data_dir=tmp / "data", index_dir=sample_index, contacts_file=write_contacts(tmp / "c.yaml"))
    async with open_runtime(settings, embedder=embedder) as rt:
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


def later_than(ts: str) -> str:
    seconds, _, _ = ts.partition(".")
    return f"{int(seconds) + 1}.{uuid.uuid4().int % 10**6:06d}"


def _texts(messages: list[dict[str, Any]], needle: str) -> list[str]:
    """Texts of finished messages holding `needle` (a live stream still being written is not one yet)."""
    return [m["text"] for m in messages if needle in m["text"] and not m.get("streaming")]


async def test_slack_hand_off_reaches_the_team_channel_and_the_answer_comes_back(world: World) -> None:
    api = world.slack_api
    ask = mention(slack_id(BOB), ASK)
    await world.slack.deliver(ask)

    # The question is posted in the team's channel, with who asked and a permalink to the conversation.
    [post] = await wait_for(lambda: api.posts(HR_SLACK), timeout=60)
    assert ASK in post.params["text"] and f"Bob Martin ({BOB})" in post.params["text"]
    assert f"https://larkspur.slack.com/archives/{GENERAL}/p{ask['ts'].replace('.', '')}" in post.params["text"]
    assert any(c.params.get("message_ts") == ask["ts"] for c in api.of("chat.getPermalink"))
    # The requester is told where it went, and nothing more than that.
    [told] = await wait_for(lambda: _texts(api.thread(GENERAL, ask["ts"]), "#ask-hr"), timeout=60)
    assert "reference HO-" in told and "someone will reply" not in told

    # An HR person answers in that thread: the requester sees it in their own thread, attributed.
    root = post.response["ts"]
    reply = thread_reply(slack_id(OLIVIA), "Hi Bob, happy to help. Are you free at 3pm?", root, channel=HR_SLACK,
                         parent_user=BOT_USER_ID)  # fmt: skip
    reply["ts"] = later_than(root)  # the emulator and the test helpers both number ts per second
    await world.slack.deliver(reply)
    [relayed] = await wait_for(lambda: _texts(api.thread(GENERAL, ask["ts"]), "free at 3pm"), timeout=60)
    assert f"Olivia Rossi ({OLIVIA}) from the HR team" in relayed
    [ack] = await wait_for(lambda: _texts(api.thread(HR_SLACK, root), "Passed on to"), timeout=60)
    assert "Bob Martin" in ack
    # The answer was relayed, not treated as a new question for the agent.
    assert not _texts(api.thread(HR_SLACK, root), "couldn't find")

    handoff = await asyncio.to_thread(world.handoff_for_thread, f"slack:{TEAM_ID}:{HR_SLACK}:{root}")
    assert handoff.requester == BOB and handoff.status == "posted" and handoff.replies == 1
    trail = [e.payload for e in world.rt.audit.tail(30) if e.kind == "handoff"]
    assert {"requested", "posted", "reply_relayed"} <= {p["event"] for p in trail if p["handoff_id"] == handoff.id}


async def test_teams_hand_off_reaches_the_team_channel_and_the_answer_comes_back(world: World) -> None:
    connector = world.connector
    bob, olivia = connector.user(BOB), connector.user(OLIVIA)
    await world.teams.post(personal_message(connector, bob, ASK))

    # A new post in the team's Teams channel (not a reply to anything) with the question and who asked.
    [post] = await connector.wait_for(
        lambda: [m for m in connector.messages(CHANNEL_ROOT) if "Hand-off" in m.text], timeout=60
    )
    assert post.kind == "send" and ASK in post.text and f"Bob Martin ({BOB})" in post.text
    assert "Conversation:" not in post.text  # a personal chat: no link the team could open
    chat = personal_conversation(bob)
    [told] = await connector.wait_for(
        lambda: [m.text for m in connector.messages(chat) if "People › Help" in m.text], timeout=60
    )
    assert "someone will reply" not in told

    # Olivia answers in that post's reply chain (mentioning Deskhand, as Teams requires).
    answer = channel_mention(connector, olivia, "Hi Bob, I'll call you at 3pm.", root=post.response_id)
    await world.teams.post(answer)
    [relayed] = await connector.wait_for(
        lambda: [m.text for m in connector.messages(chat) if "call you at 3pm" in m.text], timeout=60
    )
    assert f"Olivia Rossi ({OLIVIA}) from the HR team" in relayed
    thread = f"{CHANNEL_ROOT};messageid={post.response_id}"
    await connector.wait_for(lambda: [m for m in connector.messages(thread) if "Passed on to" in m.text], timeout=60)
    handoff = await asyncio.to_thread(world.handoff_for_thread, f"teams:{thread}")
    assert handoff.requester == BOB and handoff.channel == "teams" and handoff.replies == 1


async def test_a_failed_team_post_tells_the_requester_and_keeps_the_request(world: World) -> None:
    api = world.slack_api
    api.fail(1, status=500, method="chat.postMessage", channel=HR_SLACK)  # the team channel is unreachable
    ask = mention(slack_id(BOB), ASK)
    await world.slack.deliver(ask)
    [told] = await wait_for(lambda: _texts(api.thread(GENERAL, ask["ts"]), "couldn't pass"), timeout=60)
    assert "hr-help@example.com" in told and "HO-" in told
    ref = told.split("reference ")[1].split(")")[0]
    kept = await asyncio.to_thread(world.rt.deps.handoffs._store.get, ref)
    assert kept is not None and kept.status == "failed" and kept.question == ASK


async def test_links_back_only_where_the_team_could_open_them(world: World) -> None:
    teams = world.teams.channel.outbox
    thread = {"conversation": {"id": f"{CHANNEL_ROOT};messageid=1741010400000", "tenantId": "t-1"}}
    link = await teams.link_to(thread)
    assert link is not None and link.startswith("https://teams.microsoft.com/l/message/19%3A")
    assert "/1741010400000?" in link and "parentMessageId=1741010400000" in link and "tenantId=t-1" in link
    assert await teams.link_to({"conversation": {"id": "a:1personal"}}) is None
    slack = world.slack.channel.outbox
    dm = {"team": TEAM_ID, "channel": "DU_BOB", "thread_ts": "1700000000.000100", "user": "U_BOB", "shared": False}
    assert await slack.link_to(dm) is None


QUESTION = "How many PTO days do I get per year?"


async def test_native_feedback_keeps_the_sources_and_get_a_human_hands_the_question_over(world: World) -> None:
    api = world.slack_api
    ask = mention(slack_id(BOB), QUESTION)
    await world.slack.deliver(ask)
    [start] = await wait_for(lambda: [c for c in api.of("chat.startStream") if c.params["thread_ts"] == ask["ts"]])
    ts = start.response["ts"]
    [stop] = await wait_for(lambda: [c for c in api.of("chat.stopStream") if c.params["ts"] == ts], timeout=60)
    [feedback] = [b for b in stop.params["blocks"] if b["type"] == "context_actions"]
    buttons = feedback["elements"][0]
    assert buttons["type"] == "feedback_buttons" and buttons["action_id"] == actions.FEEDBACK
    verdict = buttons["negative_button"]["value"]
    audit_id = verdict.partition(":")[2]
    answer = world.rt.audit.get(audit_id)
    assert answer is not None and answer.payload["sources"]

    await world.slack.interact(click(slack_id(BOB), actions.FEEDBACK, verdict, channel=GENERAL, message_ts=ts,
                                     thread_ts=ask["ts"]))  # fmt: skip

    def recorded() -> list[Any]:
        return [e for e in world.rt.audit.tail(30) if e.kind == "feedback" and e.payload["answer"] == audit_id]

    [entry] = await wait_for(recorded, timeout=30)
    assert entry.actor == BOB and entry.payload["helpful"] is False
    assert entry.payload["sources"] == answer.payload["sources"]

    [human] = [b for b in stop.params["blocks"] if b.get("block_id") == actions.GET_HUMAN_BLOCK]
    await world.slack.interact(click(slack_id(BOB), actions.GET_HUMAN, human["elements"][0]["value"],
                                     channel=GENERAL, message_ts=ts, thread_ts=ask["ts"]))  # fmt: skip
    [post] = await wait_for(lambda: [p for p in api.posts(HR_SLACK) if QUESTION in p.params["text"]], timeout=60)
    assert f"Bob Martin ({BOB})" in post.params["text"]
    [told] = await wait_for(lambda: _texts(api.thread(GENERAL, ask["ts"]), "#ask-hr"), timeout=60)
    assert "reference HO-" in told
