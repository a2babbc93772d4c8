"""Custom risk policy files: approver sources, fallbacks, tool-name typos, and the messages that name a
faulty rule and field."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest
import yaml

from graphs.governance.policy import Policy, PolicyError
from tests.graphs.governance.policy_support import BOB, CAROL, KATE, SHIPPED, decide, person
from tools.catalog import ToolEnv, build_tools

if TYPE_CHECKING:
    from tests.graphs.conftest import StaticDirectory


# --- custom policies ------------------------------------------------------------------------------
BASE: dict[str, Any] = {
    "min_confidence_for_auto": 0.8,
    "fallback_approvers": [{"group_owners": "it-admins"}],
    "default": {"id": "default", "mode": "approve", "approvers": [{"group": "it-admins"}], "reason": "Unlisted."},
    "tools": {
        "hold_payment": [
            {
                "id": "hold-large",
                "when": {"amount_over": 10000},
                "mode": "four_eyes",
                "approvers": [{"group": "ap-leads"}],
                "reason": "Big hold of {amount}.",
            },
            {"id": "hold", "mode": "approve", "approvers": [{"group": "ap-leads"}], "reason": "Hold."},
        ],
    },
}


def write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


async def test_manager_and_explicit_email_sources(tmp_path: Path, directory: StaticDirectory) -> None:
    data = copy.deepcopy(BASE)
    data["tools"]["expense_claim"] = [
        {
            "id": "expense",
            "mode": "four_eyes",
            "approvers": [{"manager_of_requester": True}, "Erin.Walsh@example.com", {"email": KATE}],
            "reason": "Expenses.",
        }
    ]
    policy = Policy.load(write(tmp_path, data))
    req = await decide(policy, directory, "expense_claim", {}, requester=BOB)
    assert req.approvers == (person("frank"), person("erin"), KATE)


async def test_too_few_approvers_even_after_fallback_is_denied(tmp_path: Path, directory: StaticDirectory) -> None:
    data = copy.deepcopy(BASE)
    data["fallback_approvers"] = [{"email": person("alice")}]
    data["tools"]["vendor_bank_change"] = [
        {"id": "bank", "mode": "four_eyes", "approvers": [{"email": CAROL}], "reason": "Bank."}
    ]
    policy = Policy.load(write(tmp_path, data))
    req = await decide(policy, directory, "vendor_bank_change", {}, requester=person("alice"))
    assert (req.mode, req.approvers, req.required) == ("deny", (), 0)
    assert "aren't enough eligible approvers" in req.reason


def test_check_tools_catches_a_typo_in_a_tool_name(tmp_path: Path) -> None:
    data = copy.deepcopy(BASE)
    data["tools"]["hold_paymnet"] = data["tools"].pop("hold_payment")
    policy = Policy.load(write(tmp_path, data))
    with pytest.raises(PolicyError, match="hold_paymnet"):
        policy.check_tools(["hold_payment", "release_hold"])
    Policy.load(SHIPPED).check_tools(build_tools(ToolEnv(cast(Any, None), cast(Any, None), cast(Any, None))))


def _mutate(path: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    target: Any = data
    keys = path.split("/")
    for key in keys[:-1]:
        target = target[int(key)] if isinstance(target, list) else target[key]
    last = keys[-1]
    if value is KeyError:
        del target[last]
    elif isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("tools/hold_payment/1/mode", "aproove", ["rule 'hold'", "mode"]),
        ("tools/hold_payment/0/when", {"amount_ovr": 10000}, ["rule 'hold-large'", "when.amount_ovr"]),
        ("tools/hold_payment/0/when", {"amount_over": -5}, ["rule 'hold-large'", "when.amount_over"]),
        ("tools/hold_payment/0/when", {}, ["rule 'hold-large'", "when"]),
        ("tools/hold_payment/1/approvers", [], ["rule 'hold'", "approvers"]),
        ("tools/hold_payment/1/approvers", [{"group": "a", "email": "x@example.com"}], ["rule 'hold'", "approvers.0"]),
        ("tools/hold_payment/1/approvers", ["not-an-email"], ["rule 'hold'", "approvers.0.email"]),
        ("tools/hold_payment/1/reason", "Hold {secret}.", ["rule 'hold'", "reason", "{secret}"]),
        ("tools/hold_payment/1/colour", "red", ["rule 'hold'", "colour"]),
        ("tools/hold_payment/1/id", "Hold Payment!", ["tools.hold_payment[1]", "id"]),
        ("tools/hold_payment/1/id", "hold-large", ["rule 'hold-large'", "id", "already used"]),
        ("tools/hold_payment/0/when", KeyError, ["rule 'hold'", "when", "can never match"]),
        ("tools/hold_payment", [], ["hold_payment", "at least one rule"]),
        ("min_confidence_for_auto", 1.5, ["min_confidence_for_auto"]),
        ("min_confidence_for_auto", KeyError, ["min_confidence_for_auto"]),
        ("default/mode", "auto", ["default"]),
        ("fallback_approvers", [], ["fallback_approvers"]),
        ("tools/Hold-Payment", [], ["Hold-Payment"]),
    ],
)
def test_invalid_policies_name_the_rule_and_field(tmp_path: Path, path: str, value: Any, expected: list[str]) -> None:
    with pytest.raises(PolicyError) as caught:
        Policy.load(write(tmp_path, _mutate(path, value)))
    for fragment in expected:
        assert fragment in str(caught.value)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("tools: [unclosed\n  - x: {", "not valid YAML"),
        ("- just\n- a list\n", "must be a mapping"),
        ("", "must be a mapping"),
    ],
)
def test_unreadable_policy_files(tmp_path: Path, content: str, expected: str) -> None:
    with pytest.raises(PolicyError, match=expected):
        Policy.load(write(tmp_path, content))


def test_missing_policy_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read"):
        Policy.load(tmp_path / "nope.yaml")
