"""Answers shown while they are produced, over real HTTP: the real agent in LLM mode with a model that
pauses mid-answer (the OpenAI-compatible test server waits on an event the test sets) appends its first
verified sentence to the Slack stream before the answer is complete; without streaming, the growing text
replaces "Thinking…" with `chat.update` at most once per interval, and the final message carries the whole
text with its sources and feedback."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.settings import Settings, offline_runtime
from bot.wiring import open_runtime
from channels.base import InboundMessage, Reply
from channels.context import current_answer_sink
from channels.coordination import Coordinator
from channels.inbox import Inbox
from channels.slack import actions
from tests.channels.scripted_handler import ScriptedHandler
from tests.channels.slack.support import GENERAL, direct, mention, new_ts, start_server, wait_for
from tests.channels.slack.test_assistant import thread_started
from tests.channels.slack.test_streaming import LEASE, sessions  # noqa: F401 (fixture)
from tests.emulators import openai_api
from tests.emulators.llm_script import Script
from tests.emulators.scripted_model import quoting_responder
from tests.emulators.slack_api import SlackApiEmulator
from tools.inbox_store import SqlInboxStore

offline_runtime()
SENTENCE_END = re.compile(r"\]\. (?=[A-Z])")


@pytest.fixture
async def model() -> AsyncIterator[openai_api.OpenAIEmulator]:
    server = openai_api.OpenAIEmulator()
    await server.start()
    yield server
    await server.stop()


def held_after_first_sentence(gate: asyncio.Event) -> Any:
    """The quoting model, pausing its answer just after the first sentence (and the next one's first letter,
    so the sentence is known to be complete) until `gate` is set."""

    def respond(body: dict[str, Any]) -> Script:
        script = quoting_responder(body)
        boundary = SENTENCE_END.search(script.content)
        if body.get("tools") or boundary is None:
            return script
        script.hold, script.hold_at = gate, boundary.end() + 1
        return script

    return respond


@pytest.mark.timeout(300)
async def test_the_first_verified_sentence_is_streamed_before_the_model_has_finished(
    tmp_path: Path,
    sample_index: Path,
    embedder: Any,
    model: openai_api.OpenAIEmulator,
    coordinator: Coordinator,
    emulator: SlackApiEmulator,
) -> None:
    gate = asyncio.Event()
    model.book.responder = held_after_first_sentence(gate)
    settings = Settings(
        data_dir=tmp_path / "data",
        index_dir=sample_index,
        llm_model="openai:emulated-gpt",
        llm_base_url=model.base_url,
        llm_api_key=openai_api.API_KEY,
        llm_timeout_seconds=30.0,
        llm_max_retries=0,
    )
    async with open_runtime(settings, embedder=embedder) as rt:
        server = await start_server(rt.agent, coordinator, emulator)
        try:
            event = mention("U_BOB", "how many PTO days do I get?")
            await server.deliver(event)
            [first] = await wait_for(lambda: emulator.of("chat.appendStream"), 60)
            assert not emulator.of("chat.stopStream")  # the model is still held: the answer is not complete
            assert first.params["markdown_text"].rstrip().endswith("].")
            gate.set()
            [stop] = await wait_for(lambda: emulator.of("chat.stopStream"), 60)
            await server.channel.drain()
        finally:
            await server.stop()
    appended = "".join(c.params["markdown_text"] for c in emulator.of("chat.appendStream"))
    [message] = [m for m in emulator.thread(GENERAL, event["ts"]) if m.get("bot_id")]
    assert message["text"] == appended + stop.params.get("markdown_text", "")
    assert message["text"].startswith(first.params["markdown_text"]) and len(message["text"]) > len(appended) - 1
    block_ids = [b.get("block_id") for b in stop.params["blocks"]]
    assert actions.FEEDBACK_BLOCK in block_ids and any(b["type"] == "context" for b in stop.params["blocks"])
    assert not emulator.of("chat.postMessage") and not emulator.of("chat.update")


class PiecemealHandler(ScriptedHandler):
    """A knowledge answer produced in pieces: each piece is pushed to the answer sink when the test allows."""

    def __init__(self, pieces: list[str]) -> None:
        super().__init__()
        self.pieces = pieces
        self.allow = [asyncio.Event() for _ in pieces]
        self.asked = asyncio.Event()  # the turn began (the channel's `begin` is done)

    async def handle(self, message: InboundMessage) -> Reply:
        self.asked.set()
        reply = await super().handle(message)
        sink = current_answer_sink()
        assert sink is not None  # the channel listens while the answer is produced
        for piece, allowed in zip(self.pieces, self.allow, strict=True):
            await allowed.wait()
            sink(piece, False)
        return Reply(
            text="".join(self.pieces),
            route="answer",
            citations=reply.citations,
            audit_id=reply.audit_id,
            confidence=reply.confidence,
        )


async def test_without_streaming_the_growing_answer_updates_the_placeholder_at_a_bounded_pace(
    coordinator: Coordinator, emulator: SlackApiEmulator
) -> None:
    pieces = ["First, open the portal [1]. ", "Then ask your manager [1]. ", "Access comes within a day [1]."]
    handler = PiecemealHandler(pieces)
    emulator.streaming_error = "method_deprecated"
    server = await start_server(handler, coordinator, emulator)
    interval = 0.3
    server.channel.outbox.update_every_s = interval
    try:
        event = mention("U_BOB", "how do I get VPN access?")
        await server.deliver(event)
        [thinking] = await wait_for(lambda: emulator.posts(GENERAL, event["ts"]))
        handler.allow[0].set()
        [first] = await wait_for(lambda: emulator.of("chat.update"))
        assert first.params["ts"] == thinking.response["ts"] and pieces[0].strip() in str(first.params["blocks"])
        handler.allow[1].set()
        second = (await wait_for(lambda: emulator.of("chat.update")[1:]))[0]
        assert second.at - first.at >= interval  # paced, however soon the second piece came
        assert pieces[1].strip() in str(second.params["blocks"])
        handler.allow[2].set()
        await wait_for(lambda: [c for c in emulator.of("chat.update") if "actions" in str(c.params.get("blocks"))])
        await server.channel.drain()
    finally:
        await server.stop()
    updates = emulator.of("chat.update")
    final = updates[-1]
    assert all(u.params["ts"] == thinking.response["ts"] for u in updates)
    assert "".join(pieces).strip() in final.params["text"]  # the last update is always sent, whole
    assert any(b.get("block_id") == actions.FEEDBACK_BLOCK for b in final.params["blocks"])
    assert len(emulator.posts(GENERAL, event["ts"])) == 1  # one message, updated


async def test_in_an_assistant_thread_the_stream_opens_with_the_first_words(
    coordinator: Coordinator, emulator: SlackApiEmulator
) -> None:
    """ "is thinking…" shows until there is something to read: no empty streamed message before it."""
    pieces = ["First, open the portal [1]. ", "Then ask your manager [1]."]
    handler = PiecemealHandler(pieces)
    server = await start_server(handler, coordinator, emulator)
    try:
        root = new_ts()
        await server.deliver(thread_started("U_BOB", root))
        await wait_for(lambda: emulator.of("assistant.threads.setSuggestedPrompts"))
        event = direct("U_BOB", "how do I get VPN access?")
        event["thread_ts"] = root
        await server.deliver(event)
        await asyncio.wait_for(handler.asked.wait(), 10)
        assert emulator.of("assistant.threads.setStatus") and not emulator.of("chat.startStream")
        handler.allow[0].set()
        [first] = await wait_for(lambda: emulator.of("chat.appendStream"))
        [start] = emulator.of("chat.startStream")
        assert start.params["thread_ts"] == root and first.params["markdown_text"] == pieces[0]
        assert not emulator.of("chat.stopStream")
        handler.allow[1].set()
        [stop] = await wait_for(lambda: emulator.of("chat.stopStream"))
        await server.channel.drain()
    finally:
        await server.stop()
    [message] = [m for m in emulator.thread("DU_BOB", root) if m.get("streaming") is False]
    assert message["text"] == "".join(pieces) and stop.params["ts"] == start.response["ts"]


async def test_a_turn_that_died_while_streaming_its_answer_is_finished_in_the_same_message(
    sessions: sessionmaker[Session],  # noqa: F811
    coordinator: Coordinator,
    emulator: SlackApiEmulator,
) -> None:
    """The process dies after its first words were appended, before the answer was saved: recovery runs the
    turn again, stops that stream and replaces the message whole (no second message)."""
    store = SqlInboxStore(sessions)

    class DiesMidAnswer(ScriptedHandler):
        async def handle(self, message: InboundMessage) -> Reply:
            sink = current_answer_sink()
            assert sink is not None
            sink("To get VPN access, ", False)
            await wait_for(lambda: emulator.of("chat.appendStream"))
            await asyncio.Event().wait()  # the process dies here
            raise AssertionError("unreachable")

    first = await start_server(DiesMidAnswer(), coordinator, emulator, inbox=Inbox(store, coordinator, LEASE))
    rescuer = Inbox(store, coordinator, LEASE)
    second = await start_server(ScriptedHandler(), coordinator, emulator, inbox=rescuer)
    try:
        event = mention("U_BOB", "how do I get VPN access?")
        await first.deliver(event)
        await wait_for(lambda: emulator.of("chat.appendStream"))
        await first.channel.close(timeout_s=0)
        [start] = emulator.of("chat.startStream")
        recovered = 0
        for _ in range(100):
            recovered = await rescuer.recover()
            if recovered:
                break
            await asyncio.sleep(LEASE.total_seconds() / 3)  # polling a condition: the lease's expiry
        assert recovered == 1
        await wait_for(lambda: emulator.of("chat.update"))
        await second.channel.drain()
    finally:
        await second.stop()
        await first.stop()
    [message] = [m for m in emulator.thread(GENERAL, event["ts"]) if m.get("bot_id")]
    assert message["ts"] == start.response["ts"] and "vpn-users" in str(message["blocks"])
    assert not emulator.of("chat.postMessage") and len(emulator.of("chat.startStream")) == 1
