"""An action that would change nothing (already a member, already on hold…) is answered at once."""

from __future__ import annotations

import asyncio
from typing import Any

from langgraph.types import Command

from graphs.context import AgentDeps
from graphs.state import AgentState


async def nothing_to_do(
    state: AgentState, deps: AgentDeps, tool_name: str, args: dict[str, Any], facts: dict[str, Any], sensitive: bool
) -> Command[Any]:
    """The action would change nothing (already a member, already on hold…): say so now; no approval, no run."""
    audit_id = await asyncio.to_thread(
        deps.audit.append,
        "policy_decision",
        actor=state.get("user") or "anonymous",
        request_id=state.get("request_id", ""),
        payload={"tool": tool_name, "args": args, "facts": facts, "mode": "noop"},
        policy_version=deps.policy.version,
    )
    reply = {
        "route": "tool",
        "tool": tool_name,
        "ok": True,
        "text": f"{facts['noop']} Nothing was changed and no approval is needed.",
        "data": {"noop": True},
        "sensitive": sensitive,
        "audit_id": audit_id,
    }
    return Command(goto="__end__", update={"reply": reply})
