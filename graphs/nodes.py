"""The agent's answering steps: a knowledge answer (or its honest "not found"), a decline, a hand-off to a
team, and a clarifying question. (Understanding is in graphs.understand, actions in graphs.actions.)"""

from __future__ import annotations

import asyncio
from typing import Any

from langgraph.runtime import Runtime

from graphs import messages as msg
from graphs.answer_stream import emit, emit_sentences
from graphs.context import AgentDeps
from graphs.node_audit import audit
from graphs.state import AgentState
from graphs.understand import ENTITY_SLOTS
from graphs.understanding.lexicon import lexicon
from graphs.understanding.privacy import DECLINE as PRIVACY_DECLINE
from knowledge.types import Answer


async def answer(state: AgentState, runtime: Runtime[AgentDeps]) -> dict[str, Any]:
    deps = runtime.context
    vec = deps.query_vectors.take(state.get("request_id", ""))
    result = await asyncio.to_thread(deps.knowledge.answer, state["text"], query_vec=vec)
    return await _answered(state, runtime, result)


async def _answered(state: AgentState, runtime: Runtime[AgentDeps], result: Answer) -> dict[str, Any]:
    """The reply (and its audit entry) for a knowledge answer or its honest "not found". A found answer is
    emitted to the answer stream as it is produced (`graphs.answer_stream`), before the audit entry."""
    deps = runtime.context
    deps.query_vectors.forget(state.get("request_id", ""))
    text, citations, path = result.text, list(result.citations), {}
    if result.found and deps.generator is not None:  # never when the index has no support
        outcome = await deps.generator.answer(
            state["text"],
            result,
            user=state.get("user"),
            turn=state.get("request_id"),
            emit=lambda piece, reset: emit(runtime, piece, reset=reset),
        )
        text, citations, path = outcome.text, list(outcome.citations), outcome.record()
    elif result.found:
        emit_sentences(runtime, text)
    cites = [c.__dict__ for c in citations] if result.found else []
    audit_id = await audit(
        deps,
        "answer",
        state,
        {
            "question": state["text"],
            "found": result.found,
            "confidence": round(result.confidence, 3),
            "sources": [c["source"] for c in cites],
            "intent": state.get("intent"),
            **({"answer_path": path["answer_path"], "answer_reason": path["answer_reason"]} if path else {}),
        },
    )
    return {
        "reply": {
            "route": "answer" if result.found else "no_answer",
            "text": text,
            "citations": cites,
            "confidence": result.confidence,
            "audit_id": audit_id,
            "data": path,
            **({"section": result.section} if result.found and result.section else {}),
        }
    }


async def decline(state: AgentState, runtime: Runtime[AgentDeps]) -> dict[str, Any]:
    deps = runtime.context
    request_id = state.get("request_id", "")
    if state["intent"] == "private_data":
        deps.query_vectors.forget(request_id)
        audit_id = await audit(
            deps, "answer", state, {"question": state["text"], "found": False, "intent": "private_data"}
        )
        return {"reply": {"route": "no_answer", "text": PRIVACY_DECLINE, "confidence": 0.0, "audit_id": audit_id}}
    # The index decides scope, not the router's topics: a message the router calls off-topic is answered
    # whenever the knowledge base's own (per-index calibrated) evidence supports an answer.
    vec = deps.query_vectors.peek(request_id)
    result = await asyncio.to_thread(deps.knowledge.answer, state["text"], query_vec=vec)
    if result.found:
        return await _answered(state, runtime, result)
    deps.query_vectors.forget(request_id)
    audit_id = await audit(deps, "answer", state, {"question": state["text"], "found": False, "intent": "out_of_scope"})
    return {"reply": {"route": "no_answer", "text": msg.DECLINE, "confidence": 0.0, "audit_id": audit_id}}


async def handoff(state: AgentState, runtime: Runtime[AgentDeps]) -> dict[str, Any]:
    deps = runtime.context
    request_id = state.get("request_id", "")
    if lexicon().question.search(state["text"]):  # "which channel do I use for AP questions?" is in the handbook
        vec = deps.query_vectors.peek(request_id)
        result = await asyncio.to_thread(deps.knowledge.answer, state["text"], query_vec=vec)
        if result.found:
            return await _answered(state, runtime, result)
    deps.query_vectors.forget(request_id)
    team = lexicon().team_for(state["text"])
    if deps.handoffs is not None:  # persisted, then posted to the team, ticketed, or "contact them"
        done = await deps.handoffs.open(
            team=team,
            question=state["text"],
            requester=state.get("user"),
            channel=state.get("channel", "local"),
            conversation_ref=state.get("conversation_ref", {}),
            request_id=request_id,
        )
        reply = {"route": "handoff", "text": done.text, "audit_id": done.audit_id, "data": {"team": team, **done.data}}
        return {"reply": reply}
    contact = deps.contacts.get(team, "the service desk")
    audit_id = await audit(deps, "handoff", state, {"team": team, "question": state["text"]})
    return {
        "reply": {
            "route": "handoff",
            "text": msg.HANDOFF.format(team=team, contact=contact),
            "audit_id": audit_id,
            "data": {"team": team},
        }
    }


async def clarify(state: AgentState, runtime: Runtime[AgentDeps]) -> dict[str, Any]:
    deps = runtime.context
    request_id = state.get("request_id", "")
    intent = state["intent"]
    if intent not in deps.tools or state["confidence"] < deps.min_intent_confidence:
        # Unsure which action is meant: a message the handbook answers ("I forgot my password") is answered,
        # unless it names something an action works on (an invoice, a vendor, a group, bank details): then
        # the requester meant an action, and we ask which one rather than quote policy at them.
        if not any(kind in state["slots"] for kind in ENTITY_SLOTS):
            vec = deps.query_vectors.peek(request_id)
            result = await asyncio.to_thread(deps.knowledge.answer, state["text"], query_vec=vec)
            if result.found:
                return await _answered(state, runtime, result)
        deps.query_vectors.forget(request_id)
        return {"reply": {"route": "clarify", "text": msg.CLARIFY_INTENT}, "pending": None}
    deps.query_vectors.forget(request_id)
    missing = [s for s in deps.tools[intent].slots if s not in state["slots"]]
    question = msg.CLARIFY[missing[0]].format(name=state["slots"].get("name", "the new hire"))
    if missing[0] == "user" and state["slots"].get("user_options"):  # "Sam" when two people are called Sam
        question = msg.CLARIFY_WHICH_PERSON.format(options=state["slots"]["user_options"])
    pending = {
        "intent": intent,
        "confidence": state["confidence"],
        "slots": state["slots"],
        "slot_confidence": state.get("slot_confidence", {}),
        "missing": missing,
    }
    return {"reply": {"route": "clarify", "text": question, "data": {"missing": missing}}, "pending": pending}
