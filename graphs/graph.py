"""Builds the agent's LangGraph `StateGraph` (never compiled at import)."""

from __future__ import annotations

from functools import partial
from typing import Any, Literal

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from graphs import nodes as n
from graphs.context import AgentDeps
from graphs.request_status import request_status
from graphs.smalltalk import greet
from graphs.state import AgentState
from graphs.waiting import waiting_for_me


def _entry(state: AgentState) -> Literal["understand", "await_approval"]:
    return n.AWAIT_APPROVAL if state.get("mode") == "approval" else n.UNDERSTAND  # type: ignore[return-value]


def build_graph(deps: AgentDeps) -> StateGraph:
    """The uncompiled graph: a conversation turn, or (mode="approval") one approval's pause and run."""
    g = StateGraph(AgentState)
    g.add_node(n.UNDERSTAND, partial(n.understand, deps=deps))
    g.add_node(n.ANSWER, partial(n.answer, deps=deps))
    g.add_node(n.CLARIFY, partial(n.clarify, deps=deps))
    g.add_node(n.HANDOFF, partial(n.handoff, deps=deps))
    g.add_node(n.DECLINE, partial(n.decline, deps=deps))
    g.add_node(n.REQUEST_STATUS, partial(request_status, deps=deps))
    g.add_node(n.GREET, partial(greet, deps=deps))
    g.add_node(n.WAITING, partial(waiting_for_me, deps=deps))
    g.add_node(n.POLICY, partial(n.policy, deps=deps), destinations=(n.EXECUTE, n.CONFIRM, n.REQUEST_APPROVAL, END))
    g.add_node(n.CONFIRM, partial(n.confirm, deps=deps), destinations=(n.EXECUTE, END))
    g.add_node(n.REQUEST_APPROVAL, partial(n.request_approval, deps=deps))
    g.add_node(n.AWAIT_APPROVAL, partial(n.await_approval, deps=deps), destinations=(n.EXECUTE, END))
    g.add_node(n.EXECUTE, partial(n.execute, deps=deps))

    g.add_conditional_edges(START, _entry)
    g.add_conditional_edges(n.UNDERSTAND, partial(n.route, deps=deps))
    ends = (
        n.ANSWER,
        n.CLARIFY,
        n.HANDOFF,
        n.DECLINE,
        n.REQUEST_STATUS,
        n.GREET,
        n.WAITING,
        n.REQUEST_APPROVAL,
        n.EXECUTE,
    )
    for node in ends:
        g.add_edge(node, END)
    return g


def build_agent(deps: AgentDeps, checkpointer: BaseCheckpointSaver[Any] | None = None) -> CompiledStateGraph:
    """Compile the agent with a checkpointer (durable pauses need a persistent one)."""
    return build_graph(deps).compile(checkpointer=checkpointer, name="deskhand")
