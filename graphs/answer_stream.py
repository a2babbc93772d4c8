"""The answer while it is produced: knowledge nodes write it to LangGraph's custom stream, and the agent
forwards it to the channel listening (`channels.context.answer_sink`).

A node calls `emit(runtime, text)` (or `emit_sentences`) with each piece the user may see now; a piece is
only emitted once nothing later can take it back, except that a `reset` replaces everything emitted so far
(the generative answer lost to the extractive one). `run` invokes the graph: without a sink it is plain
`ainvoke` (CLI `ask --json`, evals: the same run as ever); with one it streams `custom` chunks to the sink
and returns exactly what `ainvoke` returns (the last state values, plus `__interrupt__` when paused).
"""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime
from langgraph.types import Durability

from channels.answer_pieces import split_sentences
from channels.context import AnswerSink

INTERRUPT = "__interrupt__"  # where ainvoke puts a pause's interrupts (LangGraph's own key)
DRAFT = "answer_draft"  # the custom stream chunk: {"answer_draft": text, "reset": bool}


def emit(runtime: Runtime[Any], text: str, *, reset: bool = False) -> None:
    if text or reset:
        runtime.stream_writer({DRAFT: text, "reset": reset})


def emit_sentences(runtime: Runtime[Any], text: str) -> None:
    """A finished answer (extractive), one sentence (or list line) per chunk."""
    for piece in split_sentences(text):
        emit(runtime, piece)


async def run(
    graph: Any,
    value: Any,
    config: RunnableConfig,
    context: Any,
    sink: AnswerSink | None,
    *,
    durability: Durability | None = None,
) -> Any:
    """`graph.ainvoke(value, config, context=context, durability=...)`, feeding the answer's chunks to `sink`
    on the way."""
    if sink is None:
        return await graph.ainvoke(value, config, context=context, durability=durability)
    latest: Any = None
    interrupts: list[Any] = []
    async for mode, payload in graph.astream(
        value, config, context=context, stream_mode=["custom", "updates", "values"], durability=durability
    ):
        if mode == "custom":
            if isinstance(payload, dict) and DRAFT in payload:
                sink(str(payload[DRAFT]), bool(payload.get("reset")))
        elif mode == "updates":
            if isinstance(payload, dict) and (found := payload.get(INTERRUPT)) is not None:
                interrupts.extend(found)
        elif mode == "values":
            latest = payload
    if interrupts:
        return {**latest, INTERRUPT: interrupts} if isinstance(latest, dict) else {INTERRUPT: interrupts}
    return latest
