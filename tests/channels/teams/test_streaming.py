"""Streaming, the typing indicator, AI citations and the feedback loop, over real HTTP against the Bot
Connector emulator (which refuses what Teams refuses: streams outside one-to-one chats, sequences that do not
grow, chunks that drop earlier text, requests faster than the stream's pace, pieces after the final one)."""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import pytest

from channels.answer_pieces import split_sentences
from channels.base import InboundMessage, Reply
from channels.context import current_answer_sink
from channels.coordination import Coordinator
from channels.teams import render
from tests.channels.scripted_handler import KNOWLEDGE_TEXT, ScriptedHandler
from tests.channels.teams.support import (
    STREAM_INTERVAL_S,
    TeamsServer,
    _address,
    channel_mention,
    fixture,
    personal_conversation,
    personal_message,
    start_server,
)
from tests.emulators.bot_connector import BotConnectorEmulator, ConnectorCall
from tests.emulators.teams_streams import Stream


@pytest.fixture(autouse=True)
def paced(connector: BotConnectorEmulator) -> None:
    connector.streams.min_interval_s = STREAM_INTERVAL_S  # like Teams: a stream faster than its pace is refused


def streamed(connector: BotConnectorEmulator, chat: str) -> list[ConnectorCall]:
    return [c for c in connector.calls if c.conversation_id == chat and c.stream_type]


async def test_a_ready_answer_goes_out_whole_at_once(server: TeamsServer, connector: BotConnectorEmulator) -> None:
    """An answer ready before the informative update is due is not streamed: Teams paces a stream at one
    request a second, so streaming a finished answer would only hold its end back."""
    bob = connector.user("bob.martin@example.com")
    chat = personal_conversation(bob)
    activity = personal_message(connector, bob, "How do I get VPN access?")
    assert (await server.post(activity))[0] == 202
    [final] = await connector.wait_for(lambda: connector.messages(chat))
    await server.channel.drain()
    posts = [c for c in connector.calls if c.method == "POST" and c.conversation_id == chat]
    assert posts[0].body["type"] == "typing" and posts[0].stream_type is None  # the typing indicator
    assert all(c.ok and c.target_id == activity["id"] for c in posts)  # every post replies to the question
    assert streamed(connector, chat) == []
    assert final.text == KNOWLEDGE_TEXT and final.stream_type is None
    assert final.body["channelData"]["feedbackLoopEnabled"] is True
    [ai] = [e for e in final.body["entities"] if e["type"] == "https://schema.org/Message"]
    assert ai["additionalType"] == ["AIGeneratedContent"]
    assert ai["citation"][0]["appearance"]["url"] == "https://wiki.example.com/it/vpn"


async def test_a_slow_answer_shows_an_informative_update_first(
    coordinator: Coordinator, connector: BotConnectorEmulator
) -> None:
    bob = connector.user("bob.martin@example.com")
    chat = personal_conversation(bob)

    class Slow(ScriptedHandler):
        async def handle(self, message: InboundMessage) -> Reply:
            # the answer takes until the user was told something is happening
            await connector.wait_for(lambda: any(c.stream_type == "informative" for c in connector.calls))
            return await super().handle(message)

    server = await start_server(Slow(), coordinator, inform_after_s=0.0)
    try:
        await server.post(personal_message(connector, bob, "How do I get VPN access?"))
        await connector.wait_for(lambda: connector.messages(chat))
        await server.channel.drain()
    finally:
        await server.stop()
    pieces = streamed(connector, chat)
    assert [c.stream_type for c in pieces] == ["informative", "streaming", "final"]
    assert pieces[0].text == render.WORKING and pieces[0].body["type"] == "typing"
    stream_id = pieces[0].response_id
    sequences = [e.get("streamSequence") for c in pieces for e in c.body["entities"] if e["type"] == "streaminfo"]
    assert sequences == [1, 2, None]
    assert {e["streamId"] for c in pieces[1:] for e in c.body["entities"] if e["type"] == "streaminfo"} == {stream_id}
    assert all(c.ok for c in pieces) and pieces[-1].text == KNOWLEDGE_TEXT


async def test_channels_get_one_message_without_streaming(server: TeamsServer, connector: BotConnectorEmulator) -> None:
    bob = connector.user("bob.martin@example.com")
    activity = channel_mention(connector, bob, "how do I get VPN access?")
    await server.post(activity)
    [reply] = await connector.wait_for(connector.messages)
    await server.channel.drain()
    assert reply.text == KNOWLEDGE_TEXT and reply.stream_type is None
    assert not [c for c in connector.calls if c.stream_type]  # Teams streams only in one-to-one chats
    assert [c.body["type"] for c in connector.calls if c.method == "POST"] == ["typing", "message"]
    assert reply.body["channelData"]["feedbackLoopEnabled"] is True


def _feedback_invoke(
    connector: BotConnectorEmulator, user: Any, message_id: str, chat: str, value: dict[str, Any]
) -> dict[str, Any]:
    activity = _address(fixture("card_action_invoke"), connector, user)
    activity.update(id=f"f:feedback-{message_id}-{user.id}", name="message/submitAction", replyToId=message_id)
    activity["conversation"] = {"conversationType": "personal", "id": chat}
    activity["value"] = value
    return activity


async def test_the_feedback_loop_records_the_rating_with_the_answers_sources(
    server: TeamsServer, connector: BotConnectorEmulator, handler: ScriptedHandler
) -> None:
    bob = connector.user("bob.martin@example.com")
    chat = personal_conversation(bob)
    await server.post(personal_message(connector, bob, "How do I get VPN access?"))
    [answer] = await connector.wait_for(lambda: connector.messages(chat))
    await server.channel.drain()
    audit_id = answer.body["attachments"][0]["content"]["actions"][0]["data"]["audit_id"]
    words = json.dumps({"feedbackText": " It skipped the manager step. "})
    value = {"actionName": "feedback", "actionValue": {"reaction": "dislike", "feedback": words}}
    message_id = str(answer.response_id)
    status, body = await server.post(_feedback_invoke(connector, bob, message_id, chat, value))
    assert (status, body) == (200, {})
    assert handler.feedback_calls == [(audit_id, "bob.martin@example.com", False)]
    assert handler.feedback_details == [
        {"sources": ("it/vpn.md", "it/handbook.md"), "comment": "It skipped the manager step."}
    ]
    # unknown message, unknown reaction, malformed value: acknowledged, nothing recorded
    for target, bad in (
        ("1999999999999", {"actionName": "feedback", "actionValue": {"reaction": "like", "feedback": "{}"}}),
        (message_id, {"actionName": "feedback", "actionValue": {"reaction": "meh"}}),
        (message_id, {"actionName": "feedback", "actionValue": "like"}),
    ):
        status, _ = await server.post(_feedback_invoke(connector, bob, target, chat, bad))
        assert status == 200
    assert len(handler.feedback_calls) == 1


async def test_a_refused_stream_falls_back_to_one_message(
    coordinator: Coordinator, connector: BotConnectorEmulator
) -> None:
    """A stream left open in the chat (by a process that died) makes Teams refuse a new one."""
    bob = connector.user("bob.martin@example.com")
    chat = personal_conversation(bob)
    connector.streams.streams["1orphan"] = Stream("1orphan", chat)

    class Slow(ScriptedHandler):
        async def handle(self, message: InboundMessage) -> Reply:
            await connector.wait_for(lambda: any(c.stream_type == "informative" for c in connector.calls))
            return await super().handle(message)

    server = await start_server(Slow(), coordinator, inform_after_s=0.0)
    try:
        await server.post(personal_message(connector, bob, "How do I get VPN access?"))
        [reply] = await connector.wait_for(lambda: connector.messages(chat))
        await server.channel.drain()
    finally:
        await server.stop()
    assert reply.text == KNOWLEDGE_TEXT and reply.stream_type is None
    refused = [c for c in connector.calls if c.stream_type]
    assert [c.status for c in refused] == [403]


@pytest.mark.parametrize(
    "text",
    [
        "One. Two [1]. Three? Four!",
        "Line one\nLine two\n\n- item [2]\n",
        "No end",
        "",
        "Version 1.5 is out. It works [1][2].  Done.",
    ],
)
def test_sentences_join_back_to_the_text(text: str) -> None:
    pieces = split_sentences(text)
    assert "".join(pieces) == text
    assert all(p.strip() for p in pieces)


def test_sentences_keep_citation_markers_with_their_sentence() -> None:
    assert split_sentences("Ask IT [1]. Then wait [2][3]. Done.") == ["Ask IT [1]. ", "Then wait [2][3]. ", "Done."]
    assert split_sentences("Version 1.5 is out.") == ["Version 1.5 is out."]


async def test_a_slow_answer_streams_its_text_while_it_is_produced(
    coordinator: Coordinator, connector: BotConnectorEmulator
) -> None:
    """The agent pushes its answer piece by piece (each when the test allows): every piece reaches the
    stream before the answer is complete, each chunk carrying all the text so far, then the final message."""
    bob = connector.user("bob.martin@example.com")
    chat = personal_conversation(bob)
    pieces = split_sentences(KNOWLEDGE_TEXT)
    assert len(pieces) >= 2
    allow = [asyncio.Event() for _ in pieces]

    class Piecemeal(ScriptedHandler):
        async def handle(self, message: InboundMessage) -> Reply:
            sink = current_answer_sink()
            assert sink is not None
            for piece, allowed in zip(pieces, allow, strict=True):
                await allowed.wait()
                sink(piece, False)
            return await super().handle(message)

    server = await start_server(Piecemeal(), coordinator, inform_after_s=0.0)
    try:
        await server.post(personal_message(connector, bob, "How do I get VPN access?"))
        await connector.wait_for(lambda: any(c.stream_type == "informative" for c in streamed(connector, chat)))
        for n, allowed in enumerate(allow[:-1], start=1):
            allowed.set()
            text = "".join(pieces[:n])
            await connector.wait_for(
                lambda t=text: [c for c in streamed(connector, chat) if c.stream_type == "streaming" and c.text == t]
            )
            assert not connector.messages(chat)  # the answer is not complete yet
        allow[-1].set()
        await connector.wait_for(lambda: connector.messages(chat))
        await server.channel.drain()
    finally:
        await server.stop()
    calls = streamed(connector, chat)
    kinds = [c.stream_type for c in calls]
    assert kinds[0] == "informative" and kinds[-1] == "final" and set(kinds[1:-1]) == {"streaming"}
    texts = [c.text for c in calls[1:-1]]
    assert all(b.startswith(a) for a, b in itertools.pairwise(texts))  # growing, never dropping text
    assert all(c.ok for c in calls) and calls[-1].text == KNOWLEDGE_TEXT
