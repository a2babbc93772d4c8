"""The start-up check that tools, intents and the risk policy name each other (bot/tool_check.py)."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from bot.settings import DEFAULT_POLICY
from bot.tool_check import ToolWiringError, check_configured, check_tool_wiring, wiring_problems
from graphs.governance.policy import Policy, PolicyError
from graphs.understanding.intents import load_examples
from tests.graphs.understanding.support import tool_specs
from tools.tool_spec import ToolContext, ToolResult, tool


def _shipped() -> tuple[dict, list[str], list[str]]:
    return tool_specs(), list(load_examples()), list(Policy.load(DEFAULT_POLICY).tools)


def test_the_shipped_tools_intents_and_policy_match() -> None:
    tools, intents, ruled = _shipped()
    assert wiring_problems(tools, intents, ruled) == []
    check_tool_wiring(tools, intents, ruled)


def test_each_kind_of_mismatch_is_named_with_what_to_add() -> None:
    tools, intents, ruled = _shipped()
    intents = [i for i in intents if i != "hold_payment"] + ["refund_invoice"]
    ruled = [r for r in ruled if r not in ("release_hold", "find_user")] + ["hold_paymnet"]
    problems = wiring_problems(tools, intents, ruled)
    assert len(problems) == 5
    assert any(p.startswith("tool 'hold_payment' has no intent") and "intents: hold_payment:" in p for p in problems)
    assert any(p.startswith("tool 'release_hold' changes data has no rule") for p in problems)
    assert any(p.startswith("tool 'find_user' is read-only but has no rule") for p in problems)
    assert any(p.startswith("intent 'refund_invoice' names no tool") for p in problems)
    assert any("rule for 'hold_paymnet', which is no tool" in p for p in problems)
    with pytest.raises(ToolWiringError) as raised:
        check_tool_wiring(tools, intents, ruled)
    assert isinstance(raised.value, PolicyError)  # reported like any bad policy file: one clear line
    assert all(p in str(raised.value) for p in problems)


class _ColourArgs(BaseModel):
    colour: str


async def paint(args: _ColourArgs, ctx: ToolContext) -> ToolResult:
    """Paint something in a colour nobody can be asked about."""
    return ToolResult(True, args.colour)


def test_a_tool_needing_a_slot_nobody_asks_for_is_refused() -> None:
    tools, intents, ruled = _shipped()
    spec = tool(
        paint,
        _ColourArgs,
        read_only=True,
        sensitive=False,
        slots=("colour",),
        from_slots=lambda s: {"colour": s.get("colour")},
        title=lambda a: f"Paint it {a.get('colour')}",
    )
    problems = wiring_problems({**tools, "paint": spec}, [*intents, "paint"], [*ruled, "paint"])
    assert problems == ["tool 'paint' needs slots nobody can ask for: colour"]


def test_a_read_only_tool_cannot_declare_flipped_state() -> None:
    with pytest.raises(ValueError, match="read-only"):
        tool(
            paint,
            _ColourArgs,
            read_only=True,
            sensitive=False,
            slots=(),
            from_slots=dict,
            title=str,
            flips=("colour",),
        )


def test_config_check_reports_every_problem_of_a_policy_file(tmp_path, capsys) -> None:
    assert check_configured(DEFAULT_POLICY) == 0
    assert "tools, intents and policy match" in capsys.readouterr().err
    shipped = DEFAULT_POLICY.read_text(encoding="utf-8")
    broken = tmp_path / "policy.yaml"
    broken.write_text(shipped.replace("  vendor_approvers:\n", "  vendor_approver:\n"), encoding="utf-8")
    assert check_configured(broken) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "deskhand: tool 'vendor_approvers' is read-only but has no rule in the risk policy: add 'tools: "
        "vendor_approvers:' to the policy file (without one it falls to the policy's default rule)",
        "deskhand: the risk policy has a rule for 'vendor_approver', which is no tool (a misspelt name?)",
    ]
