"""What users say about an answer after it was shown: 👍/👎 (recorded in the audit log with the answer's
sources) and "Get a human" (the answer's question handed over, exactly as asking for a person would)."""

from __future__ import annotations

import asyncio

from channels.base import InboundMessage, Reply
from graphs import messages as msg
from graphs.context import AgentDeps
from graphs.nodes import _team_for


async def record(deps: AgentDeps, audit_id: str, user_email: str | None, helpful: bool) -> None:
    """A `feedback` audit entry for the answer `audit_id`, with the sources that answer cited."""
    answer = await asyncio.to_thread(deps.audit.get, audit_id)
    sources = answer.payload.get("sources") if answer is not None else None
    await asyncio.to_thread(
        deps.audit.append,
        "feedback",
        actor=user_email or "anonymous",
        request_id=audit_id,
        policy_version=deps.policy.version,
        payload={"answer": audit_id, "helpful": helpful, "sources": sources if isinstance(sources, list) else []},
    )


async def request_human(deps: AgentDeps, audit_id: str, message: InboundMessage) -> Reply:
    """Hand the question behind the answer `audit_id` over to its team (persisted, posted, ticketed or
    "contact them", as `graphs.handoff` decides), for the person who clicked."""
    answer = await asyncio.to_thread(deps.audit.get, audit_id)
    question = answer.payload.get("question") if answer is not None else None
    if not isinstance(question, str) or not question.strip():
        return Reply(text=msg.HANDOFF_NO_QUESTION, route="handoff")
    team = _team_for(question)
    if deps.handoffs is None:
        contact = deps.contacts.get(team, "the service desk")
        return Reply(text=msg.HANDOFF.format(team=team, contact=contact), route="handoff", data={"team": team})
    done = await deps.handoffs.open(
        team=team,
        question=question,
        requester=message.user_email,
        channel=message.channel,
        conversation_ref=message.conversation_ref,
        request_id=message.message_id or audit_id,
    )
    return Reply(text=done.text, route="handoff", audit_id=done.audit_id, data={"team": team, **done.data})
