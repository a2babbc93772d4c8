"""The policy suite: tool call + requester + confidence → the requirement the risk policy decides, with facts
looked up by the runtime (never taken from the case), compared with a hand-written expectation."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from evals.cases import DatasetError, require
from evals.harness import EvalEnv
from evals.results import CaseResult, SuiteResult

MODES = ("auto", "confirm", "approve", "four_eyes", "deny")
REQUIRED = {"approve": 1, "four_eyes": 2}


async def decide(deps: Any, tool: str, raw_args: dict[str, Any], requester: str, confidence: float) -> Any:
    """The policy's requirement for one call, asked the way the agent's policy step asks: arguments parsed
    by the tool's schema, facts from the tool's own look-up. (Where that look-up fails, e.g. an unknown
    invoice, the agent stops before the policy; the suite still judges what the policy would require.)"""
    spec = deps.tools.get(tool)
    args, facts = raw_args, {}
    if spec is not None:
        args = spec.parse(raw_args).model_dump(mode="json", exclude_none=True)
        facts = await spec.facts(args)
    return await deps.policy.decide(
        tool, args, requester=requester, confidence=confidence, facts=facts, directory=deps.approver_directory
    )


async def run_policy(
    env: EvalEnv, index_dir: Path, cases: list[dict[str, Any]], *, done: Callable[[], None]
) -> SuiteResult:
    started = time.perf_counter()
    result = SuiteResult("policy")
    for case in cases:
        _check(case)
    async with env.runtime(index_dir, "policy") as rt:
        for case in cases:
            result.cases.append(await _one(rt.deps, case))
            done()
    n = len(result.cases)
    result.metrics = {"accuracy": round(sum(c.passed for c in result.cases) / n, 4) if n else 0.0, "cases": float(n)}
    result.seconds = time.perf_counter() - started
    return result


def _check(case: dict[str, Any]) -> None:
    require(case, "tool", str)
    require(case, "args", dict)
    require(case, "requester", str)
    require(case, "confidence", (int, float))
    expect = require(case, "expect", dict)
    if expect.get("mode") not in MODES or not isinstance(expect.get("approvers"), list):
        raise DatasetError(f"case {case['id']}: expect needs mode ({', '.join(MODES)}) and an approvers list")


async def _one(deps: Any, case: dict[str, Any]) -> CaseResult:
    expect = case["expect"]
    want_mode, want = expect["mode"], {a.lower() for a in expect["approvers"]}
    requester = case["requester"].lower()
    data: dict[str, Any] = {
        "tool": case["tool"],
        "requester": requester,
        "expected_mode": want_mode,
        "expected_approvers": sorted(want),
    }
    try:
        req = await decide(deps, case["tool"], dict(case["args"]), requester, float(case["confidence"]))
    except ValidationError as exc:
        return CaseResult(
            case["id"],
            case.get("tags", []),
            False,
            f"arguments rejected: {exc.errors()[0]['msg']}",
            {"accuracy": 0.0},
            data,
        )
    except Exception as exc:  # a crash in the policy path is a failed case, named by its type
        why = f"policy raised {type(exc).__name__}: {str(exc)[:160]}"
        return CaseResult(case["id"], case.get("tags", []), False, why, {"accuracy": 0.0}, data)
    got = {a.lower() for a in req.approvers}
    data.update(mode=req.mode, approvers=sorted(got), rule=req.rule_id, required=req.required)
    problems = []
    if req.mode != want_mode:
        problems.append(f"mode {req.mode} (rule {req.rule_id}) instead of {want_mode}")
    if got != want:
        extra, missing = sorted(got - want), sorted(want - got)
        problems.append("approvers" + (f" +{extra}" if extra else "") + (f" -{missing}" if missing else ""))
    if requester in got:
        problems.append("the requester is among the approvers")
    if req.mode == want_mode and req.required != REQUIRED.get(want_mode, 0):
        problems.append(f"{req.required} approvals required instead of {REQUIRED.get(want_mode, 0)}")
    passed = not problems
    return CaseResult(case["id"], case.get("tags", []), passed, "; ".join(problems), {"accuracy": float(passed)}, data)
