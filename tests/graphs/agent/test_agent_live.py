"""The answer stream with the real offline agent: a listener gets the answer's sentences, in order, and they
make up the reply's text; the reply and the conversation's checkpointed state are the same as without one
(CLI `ask --json` and evals run without a listener)."""

from __future__ import annotations

from typing import Any

from channels.context import answer_sink
from tests.graphs.agent.conftest import Conversation

BOB = "bob.martin@example.com"
QUESTION = "How many days of paid time off do I get each year?"


def _same(a: Any, b: Any) -> dict[str, Any]:
    return {"text": a.text == b.text, "route": a.route == b.route, "citations": a.citations == b.citations}


async def test_a_listener_gets_the_answer_in_pieces_and_the_same_reply(open_agent):
    pieces: list[tuple[str, bool]] = []
    async with open_agent() as rt:
        quiet = await Conversation(rt, BOB, key="quiet").say(QUESTION)
        with answer_sink(lambda text, reset: pieces.append((text, reset))):
            heard = await Conversation(rt, BOB, key="heard").say(QUESTION)
        states = [
            (await rt.agent.graph.aget_state({"configurable": {"thread_id": f"local:{key}"}})).values
            for key in ("quiet", "heard")
        ]
    assert heard.route == "answer" and all(_same(quiet, heard).values())
    assert len(pieces) > 1 and not any(reset for _, reset in pieces)
    assert "".join(text for text, _ in pieces) == heard.text
    drop = ("request_id", "conversation_ref", "reply")  # the turn's id, place and audit entry differ; no more
    assert {k: v for k, v in states[0].items() if k not in drop} == {
        k: v for k, v in states[1].items() if k not in drop
    }
    assert {k: v for k, v in states[0]["reply"].items() if k != "audit_id"} == {
        k: v for k, v in states[1]["reply"].items() if k != "audit_id"
    }
