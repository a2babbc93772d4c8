"""Greetings and thanks: a short, friendly answer that says what Deskhand can do (no handbook search)."""

from __future__ import annotations

import asyncio
from typing import Any

from langgraph.runtime import Runtime

from graphs import messages as msg
from graphs.context import AgentDeps
from graphs.state import AgentState
from graphs.understanding.patterns import is_thanks


async def greet(state: AgentState, runtime: Runtime[AgentDeps]) -> dict[str, Any]:
    deps = runtime.context
    text = msg.THANKS if is_thanks(state["text"]) else msg.GREETING
    audit_id = await asyncio.to_thread(
        deps.audit.append,
        "answer",
        actor=state.get("user") or "anonymous",
        request_id=state.get("request_id", ""),
        policy_version=deps.policy.version,
        payload={"intent": "greeting", "found": True},
    )
    # Route `no_answer`: nothing was answered from the handbook (the evals and --json read it that way).
    return {"reply": {"route": "no_answer", "text": text, "audit_id": audit_id, "data": {"smalltalk": True}}}
