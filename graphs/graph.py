"""Builds the agent's LangGraph `StateGraph` (never compiled at import). Nodes reach their dependencies
through the run's runtime context (`AgentDeps`), passed as `context=` on every invocation."""

from __future__ import annotations

import functools
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from graphs import actions, nodes
from graphs import node_names as n
from graphs.context import AgentDeps
from graphs.request_status import request_status
from graphs.smalltalk import greet
from graphs.state import AgentState
from graphs.understand import route, understand
from graphs.waiting import waiting_for_me
from tools import tracing

Graph = CompiledStateGraph[AgentState, AgentDeps, AgentState, AgentState]


def _entry(state: AgentState) -> n.Entry:
    return n.AWAIT_APPROVAL if state.get("mode") == "approval" else n.UNDERSTAND


def _node(name: str, fn: Any) -> Any:
    """The node as is, or (tracing on) wrapped in a span `node <name>` that also names the request id its
    audit entries carry (an approval's run has its own, apart from the click that resumed it)."""
    if not tracing.enabled():
        return fn

    @functools.wraps(fn)
    async def traced_node(state: AgentState, *args: Any, **kwargs: Any) -> Any:
        with tracing.span(f"node {name}", node=name, audit_request_id=state.get("request_id") or None):
            return await fn(state, *args, **kwargs)

    return traced_node


def build_graph() -> StateGraph[AgentState, AgentDeps, AgentState, AgentState]:
    """The uncompiled graph: a conversation turn, or (mode="approval") one approval's pause and run."""
    g = StateGraph(AgentState, context_schema=AgentDeps)
    g.add_node(n.UNDERSTAND, _node(n.UNDERSTAND, understand))
    g.add_node(n.ANSWER, _node(n.ANSWER, nodes.answer))
    g.add_node(n.CLARIFY, _node(n.CLARIFY, nodes.clarify))
    g.add_node(n.HANDOFF, _node(n.HANDOFF, nodes.handoff))
    g.add_node(n.DECLINE, _node(n.DECLINE, nodes.decline))
    g.add_node(n.REQUEST_STATUS, _node(n.REQUEST_STATUS, request_status))
    g.add_node(n.GREET, _node(n.GREET, greet))
    g.add_node(n.WAITING, _node(n.WAITING, waiting_for_me))
    g.add_node(n.POLICY, _node(n.POLICY, actions.policy), destinations=(n.EXECUTE, n.CONFIRM, n.REQUEST_APPROVAL, END))
    g.add_node(n.CONFIRM, _node(n.CONFIRM, actions.confirm), destinations=(n.EXECUTE, END))
    g.add_node(n.REQUEST_APPROVAL, _node(n.REQUEST_APPROVAL, actions.request_approval))
    g.add_node(n.AWAIT_APPROVAL, _node(n.AWAIT_APPROVAL, actions.await_approval), destinations=(n.EXECUTE, END))
    g.add_node(n.EXECUTE, _node(n.EXECUTE, actions.execute))

    g.add_conditional_edges(START, _entry)
    g.add_conditional_edges(n.UNDERSTAND, route)
    answered = (n.ANSWER, n.CLARIFY, n.HANDOFF, n.DECLINE, n.REQUEST_STATUS, n.GREET, n.WAITING)
    for node in (*answered, n.REQUEST_APPROVAL, n.EXECUTE):
        g.add_edge(node, END)
    return g


def build_agent(checkpointer: BaseCheckpointSaver[Any] | None = None) -> Graph:
    """Compile the agent with a checkpointer (durable pauses need a persistent one). Invoke it with
    `context=` an `AgentDeps` (graphs.agent.Agent does)."""
    return build_graph().compile(checkpointer=checkpointer, name="deskhand")
