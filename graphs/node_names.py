"""The graph's node names, and the routes a router may return, as constants the type checker can follow."""

from __future__ import annotations

from typing import Final, Literal

UNDERSTAND: Final = "understand"
ANSWER: Final = "answer"
CLARIFY: Final = "clarify"
HANDOFF: Final = "handoff"
DECLINE: Final = "decline"
REQUEST_STATUS: Final = "request_status"
GREET: Final = "greet"
WAITING: Final = "waiting_for_me"
POLICY: Final = "policy"
CONFIRM: Final = "confirm"
REQUEST_APPROVAL: Final = "request_approval"
AWAIT_APPROVAL: Final = "await_approval"
EXECUTE: Final = "execute"
END: Final = "__end__"  # langgraph.graph.END

# Where a run starts, and where a turn goes once its message is understood.
Entry = Literal["understand", "await_approval"]
Route = Literal["answer", "clarify", "handoff", "decline", "policy", "request_status", "greet", "waiting_for_me"]
