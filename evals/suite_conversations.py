"""The conversation suite: multi-turn scripts (user turns, approver decisions, clock moves, state checks),
each in a fresh data folder, checked step by step and against the no-unapproved-execution rule."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from channels.base import Reply
from evals.cases import DatasetError
from evals.checks import check_state, unapproved_executions
from evals.harness import Chat, Clock, EvalEnv, run_limited
from evals.results import CaseResult, SuiteResult

STEP_KINDS = ("say", "decide", "advance_clock_minutes", "inbox", "check")


def _kind(step: dict[str, Any]) -> str:
    kinds = [k for k in STEP_KINDS if k in step]
    return kinds[0] if len(kinds) == 1 else ""


def _check(case: dict[str, Any]) -> None:
    steps = case.get("steps")
    if not isinstance(steps, list) or not steps:
        raise DatasetError(f"case {case.get('id')}: needs a list of steps")
    for i, step in enumerate(steps, start=1):
        if not isinstance(step, dict) or not _kind(step):
            raise DatasetError(f"case {case['id']} step {i}: needs exactly one of {', '.join(STEP_KINDS)}")
        if "say" in step and not isinstance(step["say"], str):
            raise DatasetError(
                f"case {case['id']} step {i}: say must be text (quote yes/no: YAML reads them as true/false)"
            )
        if "decide" in step and step["decide"] not in ("approve", "reject"):
            raise DatasetError(f"case {case['id']} step {i}: decide must be approve or reject")


async def run_conversations(
    env: EvalEnv, index_dir: Path, cases: list[dict[str, Any]], *, jobs: int, done: Callable[[], None]
) -> SuiteResult:
    started = time.perf_counter()
    result = SuiteResult("conversations")
    for case in cases:
        _check(case)

    async def one(case: dict[str, Any]) -> CaseResult:
        async with env.runtime(index_dir, case["id"]) as rt:
            clock = Clock()
            rt.deps.clock = clock
            return await play(rt, Chat(rt, f"eval-{case['id']}", result.turns), clock, case)

    result.cases = await run_limited(cases, one, jobs, done)
    n = len(result.cases)
    unapproved = sum(len(c.data.get("unapproved", [])) for c in result.cases)
    result.metrics = {
        "success_rate": round(sum(c.passed for c in result.cases) / n, 4) if n else 0.0,
        "unapproved_executions": float(unapproved),
        "cases": float(n),
    }
    result.seconds = time.perf_counter() - started
    return result


def _contains(text: str, needles: list[str]) -> list[str]:
    low = text.casefold()
    return [n for n in needles if str(n).casefold() not in low]


def reply_problems(reply: Reply, expect: dict[str, Any]) -> list[str]:
    """How a reply differs from a step's `expect` (route, tool, contains, mode, approvers, args, required)."""
    problems = []
    if "route" in expect and reply.route != expect["route"]:
        problems.append(f"route {reply.route} instead of {expect['route']} ({reply.text[:120]!r})")
    if "tool" in expect and reply.tool != expect["tool"]:
        problems.append(f"tool {reply.tool} instead of {expect['tool']}")
    missing = _contains(reply.text, list(expect.get("contains", [])))
    if missing:
        problems.append(f"reply lacks {missing}")
    present = [n for n in expect.get("not_contains", []) if str(n).casefold() in reply.text.casefold()]
    if present:
        problems.append(f"reply contains {present}")
    view = reply.approval
    if any(k in expect for k in ("mode", "approvers", "args", "required")) and view is None:
        return [*problems, "no approval in the reply"]
    if view is not None:
        if "mode" in expect and view.mode != expect["mode"]:
            problems.append(f"mode {view.mode} instead of {expect['mode']}")
        if "approvers" in expect and {a.lower() for a in view.approvers} != {a.lower() for a in expect["approvers"]}:
            problems.append(f"approvers {sorted(view.approvers)} instead of {sorted(expect['approvers'])}")
        if "required" in expect and view.required != expect["required"]:
            problems.append(f"{view.required} approvals required instead of {expect['required']}")
        for key, want in (expect.get("args") or {}).items():
            got = view.arguments.get(key)
            if str(got).casefold() != str(want).casefold():
                problems.append(f"argument {key}={got!r} instead of {want!r}")
    return problems


async def play(rt: Any, chat: Chat, clock: Clock, case: dict[str, Any]) -> CaseResult:
    """Run a script; stop at the first step that goes wrong."""
    last_approval: str | None = None
    transcript: list[str] = []
    failure = ""
    for i, step in enumerate(case["steps"], start=1):
        kind, expect = _kind(step), dict(step.get("expect") or {})
        try:
            if kind == "say":
                reply = await chat.say(step.get("user"), str(step["say"]), step.get("conversation"))
                if reply.approval is not None:
                    last_approval = reply.approval.approval_id
                transcript.append(f"{step.get('user')}: {step['say']} → {reply.route}/{reply.tool or '-'}")
                problems = reply_problems(reply, expect)
            elif kind == "decide":
                approval_id = step.get("approval") or last_approval
                if approval_id is None:
                    problems = ["no approval to decide on"]
                else:
                    outcome = await rt.agent.decide(
                        approval_id, step.get("approver"), step["decide"] == "approve", str(step.get("comment", ""))
                    )
                    status = outcome.approval.status if outcome.approval else None
                    transcript.append(
                        f"{step.get('approver')} {step['decide']}s → accepted={outcome.accepted}, {status}"
                    )
                    problems = []
                    if "accepted" in expect and outcome.accepted != expect["accepted"]:
                        problems.append(
                            f"accepted={outcome.accepted} instead of {expect['accepted']} ({outcome.message[:120]!r})"
                        )
                    if "status" in expect and status != expect["status"]:
                        problems.append(f"status {status} instead of {expect['status']}")
            elif kind == "advance_clock_minutes":
                clock.advance(float(step["advance_clock_minutes"]))
                expired = await rt.agent.expire_due()
                transcript.append(f"+{step['advance_clock_minutes']} min → {len(expired)} expired")
                problems = []
                if "expired" in expect and len(expired) != expect["expired"]:
                    problems.append(f"{len(expired)} approvals expired instead of {expect['expired']}")
            elif kind == "inbox":
                notes = chat.inbox(step["inbox"], step.get("conversation"))
                text = "\n".join(str(n.get("text", "")) for n in notes)
                transcript.append(f"inbox of {step['inbox']}: {len(notes)} notification(s)")
                missing = _contains(text, list(expect.get("contains", [])))
                problems = [f"notifications lack {missing} (got {text[:120]!r})"] if missing else []
                if "count" in expect and len(notes) != expect["count"]:
                    problems.append(f"{len(notes)} notifications instead of {expect['count']}")
            else:
                problems = await check_state(rt, dict(step["check"]), last_approval)
        except Exception as exc:  # an agent crash fails the case at this step, named by its type
            problems = [f"raised {type(exc).__name__}"]
        if problems:
            failure = f"step {i} ({kind}): " + "; ".join(problems)
            break
    unapproved = await unapproved_executions(rt)
    if unapproved and not failure:
        failure = "; ".join(unapproved)
    passed = not failure
    data = {"transcript": transcript, "unapproved": unapproved, "steps": len(case["steps"])}
    return CaseResult(case["id"], case.get("tags", []), passed, failure, {"success_rate": float(passed)}, data)
