"""The start-up check that tools, intents and the risk policy name each other: a tool is added in its own
module plus two YAML entries, and a missing entry stops start-up with a message saying what to add."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, cast

from graphs.governance.policy import Policy, PolicyError
from graphs.messages import CLARIFY
from graphs.understanding.intent_examples import CONVERSATION_INTENTS, load_examples
from tools.catalog import ToolEnv, build_tools
from tools.tool_spec import ToolSpec


class ToolWiringError(PolicyError):
    """Tools, intents (graphs/understanding/intents.yaml) and the policy (graphs/governance/policy.yaml) don't match."""


def wiring_problems(tools: Mapping[str, ToolSpec], intents: Iterable[str], policy_tools: Iterable[str]) -> list[str]:
    """Every mismatch, one sentence each (empty when all is well)."""
    intent_names, ruled = set(intents), set(policy_tools)
    problems: list[str] = []
    for name, spec in tools.items():
        if name not in intent_names:
            problems.append(
                f"tool '{name}' has no intent: add example requests under 'intents: {name}:' in the intents file "
                "(without one it can never be chosen)"
            )
        if name not in ruled:
            kind = "changes data" if spec.side_effects else "is read-only but"
            problems.append(
                f"tool '{name}' {kind} has no rule in the risk policy: add 'tools: {name}:' to the policy file "
                "(without one it falls to the policy's default rule)"
            )
        unasked = [slot for slot in spec.slots if slot not in CLARIFY]
        if unasked:
            problems.append(f"tool '{name}' needs slots nobody can ask for: {', '.join(unasked)}")
    for intent in sorted(intent_names - set(tools) - set(CONVERSATION_INTENTS)):
        problems.append(
            f"intent '{intent}' names no tool and is not one of {', '.join(CONVERSATION_INTENTS)}: "
            "rename it after its tool or remove it"
        )
    for name in sorted(ruled - set(tools)):
        problems.append(f"the risk policy has a rule for '{name}', which is no tool (a misspelt name?)")
    return problems


def check_tool_wiring(tools: Mapping[str, ToolSpec], intents: Iterable[str], policy_tools: Iterable[str]) -> None:
    """Raise ToolWiringError listing every mismatch."""
    problems = wiring_problems(tools, intents, policy_tools)
    if problems:
        raise ToolWiringError("tools, intents and policy don't match: " + "; ".join(problems))


def check_configured(policy_file: Path) -> int:
    """`deskhand config --check`: the declared tools against the intents file and `policy_file`; 0 when they
    match, else 2 with one line per problem. No tool runs (the tools get no clients)."""
    nothing = cast(Any, None)
    tools = build_tools(ToolEnv(nothing, nothing, nothing))  # declarations only: nothing is called
    try:
        problems = wiring_problems(tools, load_examples(), Policy.load(policy_file).tools)
    except PolicyError as exc:
        problems = [str(exc)]
    for problem in problems:
        print(f"deskhand: {problem}", file=sys.stderr)
    if not problems:
        print(f"tools, intents and policy match ({len(tools)} tools)", file=sys.stderr)
    return 2 if problems else 0
