"""What users say about an answer after it was shown: 👍/👎 (recorded in the audit log with the answer's
sources) and "Get a human" (the answer's question handed over, exactly as asking for a person would)."""

from __future__ import annotations

import asyncio
from typing import Any

from channels.base import InboundMessage, Reply
from graphs import messages as msg
from graphs.context import AgentDeps
from graphs.understanding.lexicon import lexicon


async def _answer(deps: AgentDeps, audit_id: str) -> dict[str, Any]:
    """The audit payload of the answer `audit_id` ({} when unknown, or while the audit is a spool)."""
    get = getattr(deps.audit, "get", None)
    if get is None:
        return {}
    entry = await asyncio.to_thread(get, audit_id)
    payload = getattr(entry, "payload", None)
    return payload if isinstance(payload, dict) else {}


async def record(
    deps: AgentDeps,
    audit_id: str,
    user_email: str | None,
    helpful: bool,
    *,
    sources: tuple[str, ...] = (),
    comment: str = "",
) -> None:
    """A `feedback` audit entry for the answer `audit_id`, with the sources it cited: those the channel sent,
    else those recorded with the answer."""
    payload: dict[str, Any] = {"answer": audit_id, "helpful": helpful}
    cited = list(sources) or (await _answer(deps, audit_id)).get("sources")
    if isinstance(cited, list) and cited:
        payload["sources"] = cited
    if comment:
        payload["comment"] = comment
    await asyncio.to_thread(
        deps.audit.append,
        "feedback",
        actor=user_email or "anonymous",
        request_id=audit_id,
        policy_version=deps.policy.version,
        payload=payload,
    )


async def request_human(deps: AgentDeps, audit_id: str, message: InboundMessage) -> Reply:
    """Hand the question behind the answer `audit_id` over to its team (persisted, posted, ticketed or
    "contact them", as `graphs.handoff` decides), for the person who clicked."""
    question = (await _answer(deps, audit_id)).get("question")
    if not isinstance(question, str) or not question.strip():
        return Reply(text=msg.HANDOFF_NO_QUESTION, route="handoff")
    team = lexicon().team_for(question)
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
