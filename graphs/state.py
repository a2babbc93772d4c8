"""The agent's state: one conversation (or one approval) per LangGraph thread, plain JSON-safe values."""

from __future__ import annotations

from typing import Any, TypedDict


class Action(TypedDict):
    tool: str
    args: dict[str, Any]


class AgentState(TypedDict, total=False):
    # This turn
    text: str
    user: str | None  # requester's directory e-mail
    channel: str
    conversation_ref: dict[str, Any]  # where to tell the requester later
    request_id: str
    intent: str
    confidence: float
    slots: dict[str, str]
    slot_confidence: dict[str, float]
    tool_args: dict[str, Any] | None  # arguments chosen by an LLM's tool call, if one is configured
    action: Action | None  # the tool call this turn resolved to
    facts: dict[str, str]  # what the policy looked up (e.g. the invoice amount), bound into approvals
    requirement: dict[str, Any] | None  # the policy's decision for `action`
    reply: dict[str, Any]  # what to tell the user (see graphs.agent.Agent._reply)
    # Carried across turns of one conversation
    pending: dict[str, Any] | None  # an intent waiting for slots after a clarifying question
    last_action: dict[str, Any] | None  # for follow-ups such as "and for Sam too?"
    history: list[dict[str, str]]  # last few turns, for an LLM
    # Approval threads only
    mode: str  # "turn" (default) or "approval"
    approval_id: str | None
