"""The audit entries the graph's nodes write, attributed to the turn's requester and request id."""

from __future__ import annotations

import asyncio
from typing import Any

from graphs.context import GovernanceDeps
from graphs.governance.approval_records import AuditNote
from graphs.state import AgentState


def note(deps: GovernanceDeps, state: AgentState, entry_id: str | None = None) -> AuditNote:
    """Who caused a state change the approvals store records (its audit entry commits with it)."""
    return AuditNote(
        actor=state.get("user") or "anonymous",
        request_id=state.get("request_id", ""),
        policy_version=deps.policy.version,
        entry_id=entry_id,
    )


async def audit(deps: GovernanceDeps, kind: str, state: AgentState, payload: dict[str, Any]) -> str:
    """Append one audit entry for this turn and return its id."""
    return str(
        await asyncio.to_thread(
            deps.audit.append,
            kind,
            actor=state.get("user") or "anonymous",
            request_id=state.get("request_id", ""),
            payload=payload,
            policy_version=deps.policy.version,
        )
    )
