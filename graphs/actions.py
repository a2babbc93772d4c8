"""The agent's action steps: policy → (confirm | request approval → await approval) → execute. Side effects
happen only in `execute`, after any interrupt, once per request or approval (idempotency keys)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any, Literal

from langgraph.runtime import Runtime
from langgraph.types import Command, interrupt
from pydantic import ValidationError

from graphs import messages as msg
from graphs import node_names as n
from graphs.approved_run import run_approved, tool_reply
from graphs.context import AgentDeps
from graphs.governance.approval_joins import ApprovalJoins
from graphs.node_audit import audit, note
from graphs.noop import nothing_to_do
from graphs.state import Action, AgentState
from graphs.understanding.lexicon import lexicon
from tools.tool_spec import ToolContext

AfterPolicy = Literal["execute", "confirm", "request_approval", "__end__"]
AfterPause = Literal["execute", "__end__"]


async def policy(state: AgentState, runtime: Runtime[AgentDeps]) -> Command[AfterPolicy]:
    deps = runtime.context
    tool_name = state["intent"]
    requester = state.get("user")
    if not requester:
        return Command(goto=n.END, update={"reply": {"route": "handoff", "text": msg.UNKNOWN_REQUESTER}})
    spec = deps.tools[tool_name]
    raw = state.get("tool_args") or spec.args_from_slots(state["slots"])
    try:
        args = spec.parse(raw).model_dump(mode="json", exclude_none=True)
    except ValidationError as exc:
        problem = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return Command(
            goto=n.END, update={"reply": {"route": "clarify", "text": msg.INVALID_ARGS.format(problem=problem)}}
        )
    facts = await spec.facts(args)
    if "error" in facts:  # unknown invoice, person or group: say so before anyone is asked to approve
        reply = {"route": "tool", "tool": tool_name, "ok": False, "text": facts.get("message", ""), "data": facts}
        return Command(goto=n.END, update={"reply": reply})
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
    await audit(
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
        return Command(goto=n.END, update=update)
    goto: AfterPolicy = n.EXECUTE if req.mode == "auto" else n.CONFIRM if req.mode == "confirm" else n.REQUEST_APPROVAL
    return Command(goto=goto, update=update)


async def confirm(state: AgentState, runtime: Runtime[AgentDeps]) -> Command[AfterPause]:
    action = state["action"]
    assert action is not None
    title = runtime.context.tools[action["tool"]].title(action["args"])
    answer_text = interrupt({"route": "confirm", "text": msg.CONFIRM.format(title=title), "tool": action["tool"]})
    if lexicon().yes.search(str(answer_text)):
        return Command(goto=n.EXECUTE)
    reply: dict[str, Any] = {"route": "answer", "text": msg.CANCELLED}
    if not lexicon().no.search(str(answer_text)):
        reply["redo"] = str(answer_text)  # not an answer to the question: treat it as a new message
    return Command(goto=n.END, update={"reply": reply, "action": None})


async def request_approval(state: AgentState, runtime: Runtime[AgentDeps]) -> dict[str, Any]:
    deps = runtime.context
    action, req, requester = state["action"], state["requirement"], state["user"]
    assert action is not None and req is not None and requester is not None  # the policy step saw to that
    now = deps.clock()
    # An identical pending request (same digest) is joined instead of asking the approvers twice.
    requested = await asyncio.to_thread(
        ApprovalJoins(deps.approvals).request,
        tool=action["tool"],
        args=action["args"],
        requester=requester,
        channel=state.get("channel", "local"),
        conversation_ref=state.get("conversation_ref", {}),
        thread_id=None,
        rule_id=req["rule_id"],
        mode=req["mode"],
        reason=req["reason"],
        approvers=req["approvers"],
        required=req["required"],
        title=deps.tools[action["tool"]].title(action["args"]),
        facts=state.get("facts") or {},
        state_facts=deps.tools[action["tool"]].state_facts,
        policy_version=deps.policy.version,
        expires_at=now + timedelta(minutes=deps.approval_ttl_minutes),
        now=now,
        audit=note(deps, state),  # the request and its audit entry commit together
    )
    approval = requested.approval
    if requested.joined:
        return {"reply": {"route": "approval", "approval_id": approval.id, "joined": True}}
    if deps.fault is not None:
        await deps.fault("approval.after_create", approval.id)
    return {"reply": {"route": "approval", "approval_id": approval.id}, "approval_id": approval.id}


async def await_approval(state: AgentState, runtime: Runtime[AgentDeps]) -> Command[AfterPause]:
    """Pause until the approvers decide; on resume, run the action only if approved."""
    decision = interrupt({"approval_id": state["approval_id"]})
    if decision.get("status") == "approved":
        return Command(goto=n.EXECUTE, update={"approval_id": state["approval_id"]})
    reply = {"route": "approval", "status": decision.get("status"), "approval_id": state["approval_id"]}
    return Command(goto=n.END, update={"reply": reply})


async def execute(state: AgentState, runtime: Runtime[AgentDeps]) -> dict[str, Any]:
    deps = runtime.context
    action = state["action"]
    assert action is not None
    approval_id = state.get("approval_id") if state.get("mode") == "approval" else None
    if approval_id:
        return {"reply": await run_approved(deps, approval_id, action, state)}
    spec = deps.tools[action["tool"]]
    key = f"{state.get('request_id')}:{action['tool']}"
    ctx = ToolContext(requester=state.get("user") or "", idempotency_key=key, request_id=state.get("request_id", ""))
    result = await spec.run(action["args"], ctx)
    payload = {"tool": action["tool"], "args": spec.redact(action["args"]), "ok": result.ok, "approval_id": None}
    audit_id = await audit(deps, "execution", state, payload)
    return {"reply": tool_reply(spec, action["tool"], result, audit_id)}
