"""What a turn costs the process: its checkpoint is written once (when it ends or pauses; a pause still
survives a restart), and the query embedding runs off the event loop."""

from __future__ import annotations

import threading
from typing import Any

from tests.graphs.agent.conftest import Conversation

BOB = "bob.martin@example.com"


def count_checkpoint_writes(rt: Any) -> list[str]:
    """Record each checkpoint the saver is asked to write (by its step's source)."""
    saver = rt.agent.graph.checkpointer
    writes: list[str] = []
    original = saver.aput

    async def aput(config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
        writes.append(str(metadata.get("source")))
        return await original(config, checkpoint, metadata, new_versions)

    saver.aput = aput
    return writes


async def test_an_answered_turn_writes_one_checkpoint(open_agent):
    async with open_agent() as rt:
        writes = count_checkpoint_writes(rt)
        reply = await Conversation(rt, BOB, key="once").say("how many PTO days do I get per year?")
    assert reply.route == "answer"
    assert len(writes) == 1  # not one per step (input, understand, answer)


async def test_a_confirmation_paused_in_one_process_is_resumed_in_the_next(open_agent):
    async with open_agent() as rt:
        writes = count_checkpoint_writes(rt)
        asked = await Conversation(rt, BOB, key="restart").say(
            "remove sam.taylor@example.com from the engineering group"
        )
    assert asked.route == "confirm" and len(writes) == 1
    async with open_agent() as rt:  # a new runtime on the same data: the pause was persisted
        done = await Conversation(rt, BOB, key="restart").say("yes")
        members = await rt.directory.group_members("engineering")
    assert done.route == "tool" and done.tool == "remove_from_group"
    assert "sam.taylor@example.com" not in members


async def test_the_query_embedding_runs_off_the_event_loop(open_agent):
    async with open_agent() as rt:
        on_loop_thread: list[bool] = []
        embed = rt.deps.embed_query

        def recording(text: str) -> Any:
            on_loop_thread.append(threading.current_thread() is threading.main_thread())
            return embed(text)

        rt.deps.embed_query = recording
        reply = await Conversation(rt, BOB, key="thread").say("when are vendor payment runs?")
    assert reply.route == "answer" and on_loop_thread == [False]
