"""Builds the agent's LangGraph `StateGraph` (never compiled at import). Nodes reach their dependencies
through the run's runtime context (`AgentDeps`), passed as `context=` on every invocation."""

from __future__ import annotations

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

Graph = CompiledStateGraph[AgentState, AgentDeps, AgentState, AgentState]


def _entry(state: AgentState) -> n.Entry:
    return n.AWAIT_APPROVAL if state.get("mode") == "approval" else n.UNDERSTAND


def build_graph() -> StateGraph[AgentState, AgentDeps, AgentState, AgentState]:
    """The uncompiled graph: a conversation turn, or (mode="approval") one approval's pause and run."""
    g = StateGraph(AgentState, context_schema=AgentDeps)
    g.add_node(n.UNDERSTAND, understand)
    g.add_node(n.ANSWER, nodes.answer)
    g.add_node(n.CLARIFY, nodes.clarify)
    g.add_node(n.HANDOFF, nodes.handoff)
    g.add_node(n.DECLINE, nodes.decline)
    g.add_node(n.REQUEST_STATUS, request_status)
    g.add_node(n.GREET, greet)
    g.add_node(n.WAITING, waiting_for_me)
    g.add_node(n.POLICY, actions.policy, destinations=(n.EXECUTE, n.CONFIRM, n.REQUEST_APPROVAL, END))
    g.add_node(n.CONFIRM, actions.confirm, destinations=(n.EXECUTE, END))
    g.add_node(n.REQUEST_APPROVAL, actions.request_approval)
    g.add_node(n.AWAIT_APPROVAL, actions.await_approval, destinations=(n.EXECUTE, END))
    g.add_node(n.EXECUTE, actions.execute)

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
