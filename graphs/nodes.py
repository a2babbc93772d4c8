"""The agent's steps: understand → route → (answer | clarify | hand-off | decline | policy → confirm or
approval → execute). Side effects happen only in `execute`, after any interrupt."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from datetime import timedelta
from typing import Any, Literal

from langgraph.types import Command, interrupt
from pydantic import ValidationError

from graphs import messages as msg
from graphs.args import slots_to_args, title_for
from graphs.context import AgentDeps
from graphs.governance.approvals import AuditNote, compute_digest
from graphs.governance.audit import new_entry_id
from graphs.noop import nothing_to_do
from graphs.request_status import about_own_request
from graphs.state import Action, AgentState
from graphs.understanding.intents import TOOL_INTENTS, mask_entities
from graphs.understanding.patterns import asks_about_own_request
from graphs.understanding.privacy import DECLINE as PRIVACY_DECLINE
from graphs.understanding.privacy import asks_for_someone_elses_private_data
from tools.tool_spec import ToolContext

UNDERSTAND, ANSWER, CLARIFY, HANDOFF, DECLINE = "understand", "answer", "clarify", "handoff", "decline"
REQUEST_STATUS, GREET = "request_status", "greet"
POLICY, CONFIRM, REQUEST_APPROVAL, AWAIT_APPROVAL, EXECUTE = (
    "policy",
    "confirm",
    "request_approval",
    "await_approval",
    "execute",
)
QUESTION = re.compile(
    r"^\s*(how|what|what's|whats|when|where|which|who|whom|why|is|are|does|do|should|must|"
    r"can i|may i|am i|will i|whose)\b|\?\s*$",
    re.I,
)
IDENTIFIERS = ("invoice_id", "user", "email", "vendor", "iban", "account_number")  # what makes a request specific
FOLLOW_UP = re.compile(r"^\s*(and|also|same|what about|how about|now)\b|\btoo\s*\??\s*$", re.I)
YES = re.compile(r"^\s*(y|yes|yep|yeah|confirm(ed)?|go ahead|do it|ok(ay)?|sure|approve)\b", re.I)
NO = re.compile(r"^\s*(n|no|nope|cancel|stop|don'?t|abort)\b", re.I)
ENTITY_SLOTS = ("invoice_id", "vendor", "group", "iban", "account_number")
DEFAULT_TEAM = "HR"  # who takes a hand-off no team's words point to
TEAM_WORDS = {
    "Accounts Payable": ("invoice", "payment", "vendor", "pay", "ap ", "bank", "expense", "card", "po "),
    "IT": ("laptop", "password", "vpn", "account", "access", "sso", "mfa", "login"),
}

# A query vector computed in `understand` is reused by `answer` in the same request; the agent drops it
# when the turn ends, whichever way it went.
_query_vectors: dict[str, Any] = {}


def forget_query_vector(request_id: str) -> None:
    _query_vectors.pop(request_id, None)


def _team_for(text: str) -> str:
    low = f" {text.lower()} "
    for team, words in TEAM_WORDS.items():
        if any(w in low for w in words):
            return team
    return DEFAULT_TEAM


def _note(deps: AgentDeps, state: AgentState, entry_id: str | None = None) -> AuditNote:
    return AuditNote(
        actor=state.get("user") or "anonymous",
        request_id=state.get("request_id", ""),
        policy_version=deps.policy.version,
        entry_id=entry_id,
    )


async def _audit(deps: AgentDeps, kind: str, state: AgentState, payload: dict[str, Any]) -> str:
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


# --- understand ---------------------------------------------------------------------------------
async def understand(state: AgentState, deps: AgentDeps) -> dict[str, Any]:
    text = state["text"]
    if deps.refresh_entities is not None:
        await deps.refresh_entities()
    extractor = deps.slots()
    found = extractor.extract(text)
    slots, slot_conf = dict(found.values), dict(found.confidence)
    masked = mask_entities(text)
    vec = deps.embed_query(masked)
    if masked == text and deps.knowledge.query_text(text) == text:  # the knowledge answer reuses this embedding
        _query_vectors[state.get("request_id", "")] = vec
    kinds = [k for k in ENTITY_SLOTS if k in slots]
    guess = deps.router.classify(masked, vec, kinds)
    intent, confidence = guess.name, guess.confidence
    if asks_about_own_request(text):
        _query_vectors.pop(state.get("request_id", ""), None)
        return about_own_request(state, text, slots, slot_conf)
    if intent == "request_status":  # the router alone is not enough: the message must be about one's request
        intent, confidence = guess.runner_up, round(guess.confidence - guess.similarity, 3)

    if deps.understander is not None:
        llm = await deps.understander.understand(
            text, state.get("history", []), user=state.get("user"), turn=state.get("request_id")
        )
        if llm is not None and llm[0] in deps.tools:
            # The model chose a tool: its arguments still go through schema validation and the policy.
            return {
                "intent": llm[0],
                "confidence": 0.9,
                "slots": slots,
                "slot_confidence": slot_conf,
                "tool_args": llm[1],
                "pending": None,
            }

    pending = state.get("pending")
    history = [*state.get("history", []), {"role": "user", "text": text}][-10:]
    if pending:
        missing = pending["missing"]
        if "name" in missing and "name" not in slots and "user" not in slots and 1 <= len(text.split()) <= 4:
            slots["name"], slot_conf["name"] = text.strip().title(), 0.8  # the answer is the name itself
        if any(s in slots for s in missing):
            merged = {**pending["slots"], **slots}
            merged_conf = {**pending.get("slot_confidence", {}), **slot_conf}
            return {
                "intent": pending["intent"],
                "confidence": pending["confidence"],
                "slots": merged,
                "slot_confidence": merged_conf,
                "pending": None,
                "tool_args": None,
                "history": history,
            }

    if asks_for_someone_elses_private_data(text, slots.get("user"), state.get("user")):
        intent, confidence = "private_data", 1.0
    elif intent in TOOL_INTENTS and QUESTION.search(text) and not any(k in slots for k in IDENTIFIERS):
        # A general question about a process ("how do I get added to the finance group?") is for the
        # handbook, not a tool: nothing specific (an invoice, a person, a vendor) was named.
        intent = "knowledge_question"

    last = state.get("last_action")
    is_follow_up = FOLLOW_UP.search(text) and len(text.split()) <= 8
    if last and is_follow_up and set(slots) & {"user", "invoice_id", "vendor", "group"}:
        # "and for Sam too?": the previous action again, with the newly named entity swapped in.
        base = dict(last.get("slots", {}))
        base.pop("name", None)
        intent, confidence = last["tool"], 0.8
        slots = {**base, **{k: v for k, v in slots.items() if k != "name"}}
        slot_conf = {**{k: 0.9 for k in base}, **slot_conf}
    return {
        "intent": intent,
        "confidence": confidence,
        "slots": slots,
        "slot_confidence": slot_conf,
        "pending": None,
        "tool_args": None,
        "history": history,
    }


def route(
    state: AgentState, deps: AgentDeps
) -> Literal["answer", "clarify", "handoff", "decline", "policy", "request_status", "greet"]:
    intent = state["intent"]
    if intent == "request_status":
        return REQUEST_STATUS  # type: ignore[return-value]
    if intent == "greeting":
        return GREET  # type: ignore[return-value]
    if intent in ("out_of_scope", "private_data"):
        return DECLINE  # type: ignore[return-value]
    if intent == "handoff":
        return HANDOFF  # type: ignore[return-value]
    if intent in TOOL_INTENTS:
        if state["confidence"] < deps.min_intent_confidence:
            return CLARIFY  # type: ignore[return-value]
        if not state.get("tool_args") and any(s not in state["slots"] for s in TOOL_INTENTS[intent]):
            return CLARIFY  # type: ignore[return-value]
        return POLICY  # type: ignore[return-value]
    return ANSWER  # type: ignore[return-value]


# --- knowledge, clarification, hand-off -----------------------------------------------------------
async def answer(state: AgentState, deps: AgentDeps) -> dict[str, Any]:
    vec = _query_vectors.pop(state.get("request_id", ""), None)
    result = await asyncio.to_thread(deps.knowledge.answer, state["text"], query_vec=vec)
    return await _answered(state, deps, result)


async def _answered(state: AgentState, deps: AgentDeps, result: Any) -> dict[str, Any]:
    """The reply (and its audit entry) for a knowledge answer or its honest "not found"."""
    _query_vectors.pop(state.get("request_id", ""), None)
    text, citations, path = result.text, result.citations, {}
    if result.found and deps.generator is not None:  # never when the index has no support
        outcome = await deps.generator.answer(
            state["text"], result, user=state.get("user"), turn=state.get("request_id")
        )
        text, citations, path = outcome.text, outcome.citations, outcome.record()
    cites = [c.__dict__ for c in citations] if result.found else []
    audit_id = await _audit(
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
        }
    }


async def decline(state: AgentState, deps: AgentDeps) -> dict[str, Any]:
    if state["intent"] == "private_data":
        _query_vectors.pop(state.get("request_id", ""), None)
        audit_id = await _audit(
            deps, "answer", state, {"question": state["text"], "found": False, "intent": "private_data"}
        )
        return {"reply": {"route": "no_answer", "text": PRIVACY_DECLINE, "confidence": 0.0, "audit_id": audit_id}}
    # The index decides scope, not the router's topics: a message the router calls off-topic is answered
    # whenever the knowledge base's own (per-index calibrated) evidence supports an answer.
    vec = _query_vectors.get(state.get("request_id", ""))
    result = await asyncio.to_thread(deps.knowledge.answer, state["text"], query_vec=vec)
    if result.found:
        return await _answered(state, deps, result)
    _query_vectors.pop(state.get("request_id", ""), None)
    audit_id = await _audit(
        deps, "answer", state, {"question": state["text"], "found": False, "intent": "out_of_scope"}
    )
    return {"reply": {"route": "no_answer", "text": msg.DECLINE, "confidence": 0.0, "audit_id": audit_id}}


async def handoff(state: AgentState, deps: AgentDeps) -> dict[str, Any]:
    if QUESTION.search(state["text"]):  # "which channel do I use for AP questions?" is in the handbook
        vec = _query_vectors.get(state.get("request_id", ""))
        result = await asyncio.to_thread(deps.knowledge.answer, state["text"], query_vec=vec)
        if result.found:
            return await _answered(state, deps, result)
    _query_vectors.pop(state.get("request_id", ""), None)
    team = _team_for(state["text"])
    if deps.handoffs is not None:  # persisted, then posted to the team, ticketed, or "contact them"
        done = await deps.handoffs.open(
            team=team,
            question=state["text"],
            requester=state.get("user"),
            channel=state.get("channel", "local"),
            conversation_ref=state.get("conversation_ref", {}),
            request_id=state.get("request_id", ""),
        )
        reply = {"route": "handoff", "text": done.text, "audit_id": done.audit_id, "data": {"team": team, **done.data}}
        return {"reply": reply}
    contact = deps.contacts.get(team, "the service desk")
    audit_id = await _audit(deps, "handoff", state, {"team": team, "question": state["text"]})
    return {
        "reply": {
            "route": "handoff",
            "text": msg.HANDOFF.format(team=team, contact=contact),
            "audit_id": audit_id,
            "data": {"team": team},
        }
    }


async def clarify(state: AgentState, deps: AgentDeps) -> dict[str, Any]:
    intent = state["intent"]
    if intent not in TOOL_INTENTS or state["confidence"] < deps.min_intent_confidence:
        # Unsure which action is meant: a message the handbook answers ("I forgot my password") is answered,
        # unless it names something an action works on (an invoice, a vendor, a group, bank details): then
        # the requester meant an action, and we ask which one rather than quote policy at them.
        if not any(kind in state["slots"] for kind in ENTITY_SLOTS):
            vec = _query_vectors.get(state.get("request_id", ""))
            result = await asyncio.to_thread(deps.knowledge.answer, state["text"], query_vec=vec)
            if result.found:
                return await _answered(state, deps, result)
        _query_vectors.pop(state.get("request_id", ""), None)
        return {"reply": {"route": "clarify", "text": msg.CLARIFY_INTENT}, "pending": None}
    _query_vectors.pop(state.get("request_id", ""), None)
    missing = [s for s in TOOL_INTENTS[intent] if s not in state["slots"]]
    question = msg.CLARIFY[missing[0]].format(name=state["slots"].get("name", "the new hire"))
    pending = {
        "intent": intent,
        "confidence": state["confidence"],
        "slots": state["slots"],
        "slot_confidence": state.get("slot_confidence", {}),
        "missing": missing,
    }
    return {"reply": {"route": "clarify", "text": question, "data": {"missing": missing}}, "pending": pending}


# --- policy, confirmation, approval, execution ----------------------------------------------------
async def policy(state: AgentState, deps: AgentDeps) -> Command[Any]:
    tool_name = state["intent"]
    requester = state.get("user")
    if not requester:
        return Command(goto="__end__", update={"reply": {"route": "handoff", "text": msg.UNKNOWN_REQUESTER}})
    spec = deps.tools[tool_name]
    raw = state.get("tool_args") or slots_to_args(tool_name, state["slots"])
    try:
        args = spec.parse(raw).model_dump(mode="json", exclude_none=True)
    except ValidationError as exc:
        problem = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return Command(
            goto="__end__", update={"reply": {"route": "clarify", "text": msg.INVALID_ARGS.format(problem=problem)}}
        )
    facts = await spec.facts(args)
    if "error" in facts:  # unknown invoice, person or group: say so before anyone is asked to approve
        return Command(
            goto="__end__",
            update={
                "reply": {
                    "route": "tool",
                    "tool": tool_name,
                    "ok": False,
                    "text": facts.get("message", ""),
                    "data": facts,
                }
            },
        )
    if isinstance(facts.get("noop"), str):
        return await nothing_to_do(state, deps, tool_name, spec.redact(args), facts, bool(spec.sensitive))
    if isinstance(facts.get("group"), str) and "group" in args:
        args["group"] = facts["group"]  # the directory's canonical name ("IT Admins" → it-admins) for the policy
    confidence = min([state["confidence"], *state.get("slot_confidence", {}).values()])
    req = await deps.policy.decide(
        tool_name, args, requester=requester, confidence=confidence, facts=facts, directory=deps.approver_directory
    )
    requirement = {
        "mode": req.mode,
        "rule_id": req.rule_id,
        "reason": req.reason,
        "approvers": list(req.approvers),
        "required": req.required,
    }
    await _audit(
        deps,
        "policy_decision",
        state,
        {"tool": tool_name, "args": spec.redact(args), "confidence": confidence, "facts": facts, **requirement},
    )
    action: Action = {"tool": tool_name, "args": args}
    last = {"tool": tool_name, "args": args, "slots": state["slots"]}
    update = {"action": action, "requirement": requirement, "last_action": last, "facts": facts}
    if req.mode == "deny":
        update["reply"] = {"route": "handoff", "text": req.reason, "tool": tool_name}
        return Command(goto="__end__", update=update)
    goto = {"auto": EXECUTE, "confirm": CONFIRM}.get(req.mode, REQUEST_APPROVAL)
    return Command(goto=goto, update=update)


async def confirm(state: AgentState, deps: AgentDeps) -> Command[Any]:
    action = state["action"]
    assert action is not None
    title = title_for(action["tool"], action["args"])
    answer_text = interrupt({"route": "confirm", "text": msg.CONFIRM.format(title=title), "tool": action["tool"]})
    if YES.search(str(answer_text)):
        return Command(goto=EXECUTE)
    reply: dict[str, Any] = {"route": "answer", "text": msg.CANCELLED}
    if not NO.search(str(answer_text)):
        reply["redo"] = str(answer_text)  # not an answer to the question: treat it as a new message
    return Command(goto="__end__", update={"reply": reply, "action": None})


async def request_approval(state: AgentState, deps: AgentDeps) -> dict[str, Any]:
    action, req = state["action"], state["requirement"]
    assert action is not None and req is not None
    now = deps.clock()
    approval = await asyncio.to_thread(
        deps.approvals.create,
        tool=action["tool"],
        args=action["args"],
        requester=state["user"],
        channel=state.get("channel", "local"),
        conversation_ref=state.get("conversation_ref", {}),
        thread_id=None,
        rule_id=req["rule_id"],
        mode=req["mode"],
        reason=req["reason"],
        approvers=req["approvers"],
        required=req["required"],
        title=title_for(action["tool"], action["args"]),
        facts=state.get("facts") or {},
        policy_version=deps.policy.version,
        expires_at=now + timedelta(minutes=deps.approval_ttl_minutes),
        now=now,
        audit=_note(deps, state),  # the request and its audit entry commit together
    )
    if deps.fault is not None:
        await deps.fault("approval.after_create", approval.id)
    return {"reply": {"route": "approval", "approval_id": approval.id}, "approval_id": approval.id}


async def await_approval(state: AgentState, deps: AgentDeps) -> Command[Any]:
    """Pause until the approvers decide; on resume, run the action only if approved."""
    decision = interrupt({"approval_id": state["approval_id"]})
    if decision.get("status") == "approved":
        return Command(goto=EXECUTE, update={"approval_id": state["approval_id"]})
    return Command(
        goto="__end__",
        update={"reply": {"route": "approval", "status": decision.get("status"), "approval_id": state["approval_id"]}},
    )


async def execute(state: AgentState, deps: AgentDeps) -> dict[str, Any]:
    action = state["action"]
    assert action is not None
    approval_id = state.get("approval_id") if state.get("mode") == "approval" else None
    spec = deps.tools[action["tool"]]
    if approval_id:
        outcome = await execute_approved(deps, approval_id, action, state)
        if outcome is None:
            return {"reply": {"route": "tool", "text": msg.APPROVAL_ALREADY_USED, "tool": action["tool"]}}
        result, audit_id = outcome
    else:
        key = f"{state.get('request_id')}:{action['tool']}"
        ctx = ToolContext(
            requester=state.get("user") or "", idempotency_key=key, request_id=state.get("request_id", "")
        )
        result = await spec.run(action["args"], ctx)
        payload = {"tool": action["tool"], "args": spec.redact(action["args"]), "ok": result.ok, "approval_id": None}
        audit_id = await _audit(deps, "execution", state, payload)
    return {
        "reply": {
            "route": "tool",
            "text": result.summary,
            "tool": action["tool"],
            "ok": result.ok,
            "data": result.data,
            "sensitive": bool(spec.sensitive),
            "audit_id": audit_id,
        }
    }


async def execute_approved(
    deps: AgentDeps,
    approval_id: str,
    action: Action,
    state: AgentState,
    *,
    stale_before: Any = None,
) -> tuple[Any, str] | None:
    """Claim and run an approved action once, under the approval's idempotency key; None when it was not
    claimable (already used, or the facts changed). Recovery calls this too, with `stale_before` to take
    over an execution whose process died: the tools are idempotent under `approval:<id>`."""
    spec = deps.tools[action["tool"]]
    # Bound to the exact arguments and to the facts decided on (e.g. the invoice amount now).
    facts = await spec.facts(action["args"])
    digest = compute_digest(action["tool"], action["args"], facts)
    claimed = await asyncio.to_thread(
        deps.approvals.claim_execution,
        approval_id,
        digest,
        deps.clock(),
        stale_before=stale_before,
        audit=_note(deps, state),
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
    note = replace(
        _note(deps, state, audit_id),
        payload={"tool": action["tool"], "args": spec.redact(action["args"])},
    )
    await asyncio.to_thread(deps.approvals.finish_execution, approval_id, result.ok, result.data, None, note)
    return result, audit_id
