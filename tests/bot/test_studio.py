"""LangGraph Studio cannot pass our dependencies as `context=`: the studio factory binds them as the graph's
default runtime. This checks that the mechanism still holds in the installed LangGraph."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from bot.studio import RUNTIME_KEY


@dataclass
class Context:
    word: str


class State(TypedDict, total=False):
    out: str


async def node(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    return {"out": runtime.context.word}


async def test_a_bound_runtime_is_the_default_context_and_an_explicit_one_wins() -> None:
    graph = StateGraph(State, context_schema=Context)
    graph.add_node("n", node)
    graph.add_edge(START, "n")
    graph.add_edge("n", END)
    bound = graph.compile().with_config(configurable={RUNTIME_KEY: Runtime(context=Context("bound"))})
    assert await bound.ainvoke({}) == {"out": "bound"}
    assert await bound.ainvoke({}, context=Context("explicit")) == {"out": "explicit"}
