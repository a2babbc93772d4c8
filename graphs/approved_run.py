"""Running an approved action exactly once (a compare-and-set claim bound to the approved arguments and
facts, then the tool under the approval's idempotency key). The graph's execute step, crash recovery and
`deskhand approvals decide` all run approvals through here; it needs no LangGraph."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime
from typing import Any

from graphs import messages as msg
from graphs.context import GovernanceDeps
from graphs.governance.approval_records import compute_digest
from graphs.governance.audit import new_entry_id
from graphs.node_audit import note
from graphs.state import Action, AgentState
from tools.tool_spec import ToolContext, ToolResult, ToolSpec


def tool_reply(spec: ToolSpec, tool: str, result: ToolResult, audit_id: str) -> dict[str, Any]:
    """The reply data of a tool run, as the graph's state and the channels carry it."""
    return {
        "route": "tool",
        "text": result.summary,
        "tool": tool,
        "ok": result.ok,
        "data": result.data,
        "sensitive": bool(spec.sensitive),
        "audit_id": audit_id,
    }


async def run_approved(deps: GovernanceDeps, approval_id: str, action: Action, state: AgentState) -> dict[str, Any]:
    """Run an approved action once and say what happened (or that the approval was already used)."""
    outcome = await execute_approved(deps, approval_id, action, state)
    if outcome is None:
        return {"route": "tool", "text": msg.APPROVAL_ALREADY_USED, "tool": action["tool"]}
    result, audit_id = outcome
    return tool_reply(deps.tools[action["tool"]], action["tool"], result, audit_id)


async def execute_approved(
    deps: GovernanceDeps,
    approval_id: str,
    action: Action,
    state: AgentState,
    *,
    stale_before: datetime | None = None,
) -> tuple[ToolResult, str] | None:
    """Claim and run an approved action once, under the approval's idempotency key; None when it was not
    claimable (already used, or the facts changed). Recovery calls this too, with `stale_before` to take
    over an execution whose process died: the tools are idempotent under `approval:<id>`."""
    spec = deps.tools[action["tool"]]
    # Bound to the exact arguments and to the facts decided on (e.g. the invoice amount now).
    facts = await spec.facts(action["args"])
    digest = compute_digest(action["tool"], action["args"], facts, spec.state_facts)
    claimed = await asyncio.to_thread(
        deps.approvals.claim_execution,
        approval_id,
        digest,
        deps.clock(),
        stale_before=stale_before,
        audit=note(deps, state),
    )
    if not claimed:
        return None
    key = f"approval:{approval_id}"
    ctx = ToolContext(requester=state.get("user") or "", idempotency_key=key, request_id=state.get("request_id", ""))
    if deps.fault is not None:
        await deps.fault("execute.before_tool", approval_id)
    result = await spec.run(action["args"], ctx)
    if deps.fault is not None:
        await deps.fault("execute.after_tool", approval_id)
    audit_id = new_entry_id()
    entry = replace(note(deps, state, audit_id), payload={"tool": action["tool"], "args": spec.redact(action["args"])})
    await asyncio.to_thread(deps.approvals.finish_execution, approval_id, result.ok, result.data, None, entry)
    return result, audit_id
