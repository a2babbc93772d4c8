"""Shared by the policy tests: the sample people, the shipped policy file, and one decision call."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphs.governance.policy import Policy, Requirement

if TYPE_CHECKING:
    from tests.graphs.conftest import StaticDirectory


def person(first: str) -> str:
    last = {
        "alice": "nguyen",
        "bob": "martin",
        "carol": "diaz",
        "dan": "okafor",
        "erin": "walsh",
        "frank": "li",
        "grace": "kim",
        "kate": "novak",
        "noah": "schmidt",
        "olivia": "rossi",
        "victor": "hale",
    }[first]
    return f"{first}.{last}@example.com"


SHIPPED = Path(__file__).resolve().parents[3] / "graphs" / "governance" / "policy.yaml"
SAMPLE_DIRECTORY = Path(__file__).resolve().parents[3] / "tools" / "sample_data" / "directory.yaml"
BOB, CAROL, DAN, KATE = person("bob"), person("carol"), person("dan"), person("kate")
AP_LEADS = (CAROL, DAN)
IT_ADMINS = (person("victor"), person("alice"), person("noah"))


async def decide(
    policy: Policy,
    directory: StaticDirectory,
    tool: str,
    args: dict[str, Any],
    *,
    requester: str = BOB,
    confidence: Any = 0.95,
    facts: dict[str, Any] | None = None,
) -> Requirement:
    return await policy.decide(
        tool, args, requester=requester, confidence=confidence, facts=facts or {}, directory=directory
    )
