"""The risk policy: decides from tool name, validated arguments and looked-up facts who must agree first."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Protocol

import yaml
from pydantic import ValidationError

from graphs.governance.policy_file import (
    PLACEHOLDER,
    ApproverSource,
    Condition,
    Mode,
    PolicyError,
    PolicyFile,
    Rule,
    check_order,
    explain,
)
from tools.yaml_text import parse_yaml

__all__ = ["ApproverDirectory", "Mode", "Policy", "PolicyError", "Requirement", "fact_amount"]

REQUIRED_APPROVERS: dict[str, int] = {"auto": 0, "confirm": 0, "approve": 1, "four_eyes": 2, "deny": 0}


class ApproverDirectory(Protocol):
    """The directory look-ups the policy needs to turn approver sources into e-mails."""

    async def group_members(self, group: str) -> list[str]: ...

    async def group_owners(self, group: str) -> list[str]: ...

    async def manager_of(self, email: str) -> str | None: ...

    async def inactive(self, emails: Iterable[str]) -> set[str]:
        """Which of `emails` are deactivated accounts (read fresh): they never count as approvers."""
        ...


@dataclass(frozen=True)
class Requirement:
    """What must happen before a tool call runs, and why."""

    mode: Mode
    rule_id: str
    reason: str  # a sentence for requester and approvers
    approvers: tuple[str, ...] = ()  # eligible approvers' e-mails (never the requester)
    required: int = 0  # approvals needed: 0, 1 or 2
    policy_version: str = ""

    @property
    def needs_approval(self) -> bool:
        return self.mode in ("approve", "four_eyes")


class Policy:
    """A validated risk policy. Build with `Policy.load(path)`."""

    def __init__(self, spec: PolicyFile, version: str) -> None:
        self._spec = spec
        self.version = version

    @property
    def min_confidence_for_auto(self) -> float:
        return self._spec.min_confidence_for_auto

    @property
    def tools(self) -> tuple[str, ...]:
        return tuple(self._spec.tools)

    @classmethod
    def load(cls, path: Path | str) -> Policy:
        """Read and validate the policy file; raise PolicyError naming the rule and field at fault."""
        path = Path(path)
        try:
            raw_bytes = path.read_bytes()
        except OSError:
            raise PolicyError(f"{path}: cannot read the policy file") from None
        try:
            raw = parse_yaml(raw_bytes.decode("utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            where = getattr(exc, "problem_mark", None)
            line = f" (line {where.line + 1})" if where is not None else ""
            raise PolicyError(f"{path}: not valid YAML{line}") from None
        if not isinstance(raw, dict):
            raise PolicyError(f"{path}: the policy must be a mapping with min_confidence_for_auto, default, tools")
        try:
            spec = PolicyFile.model_validate(raw)
        except ValidationError as exc:
            raise PolicyError(explain(path, raw, exc)) from None
        check_order(path, spec)
        return cls(spec, hashlib.sha256(raw_bytes).hexdigest()[:12])

    def check_tools(self, known: Iterable[str]) -> None:
        """Refuse a policy naming a tool that doesn't exist (a typo would silently fall to the default)."""
        unknown = sorted(set(self._spec.tools) - set(known))
        if unknown:
            raise PolicyError(f"the policy names tools that don't exist: {', '.join(unknown)}")

    async def decide(
        self,
        tool: str,
        args: Mapping[str, Any],
        *,
        requester: str,
        confidence: float,
        facts: Mapping[str, Any],
        directory: ApproverDirectory,
    ) -> Requirement:
        """The requirement for running `tool(args)` for `requester`.

        Only the tool name, the validated arguments, facts looked up by code (e.g. the invoice amount
        from the ledger) and the understanding confidence count; no free text can lower the outcome.
        """
        requester = _norm(requester)
        rule = self._pick(tool, args, facts)
        mode: Mode = rule.mode
        reason = _render(rule.reason, tool, args, facts)
        if mode == "auto" and _safe_confidence(confidence) < self._spec.min_confidence_for_auto:
            mode = "confirm"
            reason += (
                f" The request was understood with confidence {_safe_confidence(confidence):.2f}"
                f" (below {self._spec.min_confidence_for_auto:.2f}), so the requester must confirm it."
            )
        if mode not in ("approve", "four_eyes"):
            return Requirement(mode, rule.id, reason, policy_version=self.version)

        needed = REQUIRED_APPROVERS[mode]
        approvers, notes = await self._approvers(rule, needed, args, requester, directory)
        reason += notes
        if len(approvers) < needed:
            reason += " There aren't enough eligible approvers, so it can't go ahead; ask an administrator."
            return Requirement("deny", rule.id, reason, policy_version=self.version)
        return Requirement(mode, rule.id, reason, tuple(approvers), needed, self.version)

    async def eligible_now(
        self,
        tool: str,
        args: Mapping[str, Any],
        *,
        requester: str,
        facts: Mapping[str, Any],
        directory: ApproverDirectory,
    ) -> tuple[list[str], int]:
        """Who may decide on `tool(args)` for `requester` at this moment (active people only, never the
        requester), and how many approvals its rule needs: an approval re-checks this when someone decides."""
        rule = self._pick(tool, args, facts)
        needed = REQUIRED_APPROVERS[rule.mode]
        if not needed:
            return [], 0
        approvers, _notes = await self._approvers(rule, needed, args, _norm(requester), directory)
        return approvers, needed

    async def _approvers(
        self, rule: Rule, needed: int, args: Mapping[str, Any], requester: str, directory: ApproverDirectory
    ) -> tuple[list[str], str]:
        """The rule's eligible approvers (with its fallback when too few), and what to add to the reason."""
        notes = ""
        named = await _resolve(rule.approvers, args, requester, directory)
        approvers = [a for a in named if a != requester]
        if requester in named:
            notes += " The requester can't approve their own request."
        if len(approvers) < needed:
            sources = rule.fallback or self._spec.fallback_approvers
            extra = [
                a for a in await _resolve(sources, args, requester, directory) if a != requester and a not in approvers
            ]
            approvers += extra
            if extra:
                notes += f" Too few other approvers, so it also goes to {', '.join(extra)}."
        return approvers, notes

    def _pick(self, tool: str, args: Mapping[str, Any], facts: Mapping[str, Any]) -> Rule:
        for rule in self._spec.tools.get(tool, ()):
            if _matches(rule.when, args, facts):
                return rule
        return self._spec.default


def _norm(email: str) -> str:
    return email.strip().lower()


def _safe_confidence(value: Any) -> float:
    """NaN, infinities and non-numbers count as no confidence at all."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return 0.0
    return min(max(float(value), 0.0), 1.0)


def fact_amount(facts: Mapping[str, Any]) -> Decimal | None:
    """The looked-up amount as a Decimal, or None when absent or unusable."""
    value = facts.get("amount")
    if isinstance(value, bool) or value is None:
        return None
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None


def _matches(when: Condition | None, args: Mapping[str, Any], facts: Mapping[str, Any]) -> bool:
    if when is None or when.always:
        return True
    if when.amount_over is not None:
        amount = fact_amount(facts)
        # An amount we could not look up counts as over: the stricter rule applies.
        if amount is not None and not amount > when.amount_over:
            return False
    if when.group_in is not None:
        # The directory's canonical name (a fact), so "IT Admins" and "it-admins" are the same group.
        group = facts.get("group") or args.get("group")
        allowed = {g.strip().lower() for g in when.group_in}
        if not isinstance(group, str) or group.strip().lower() not in allowed:
            return False
    return True


async def _resolve(
    sources: Iterable[ApproverSource], args: Mapping[str, Any], requester: str, directory: ApproverDirectory
) -> list[str]:
    found: list[str] = []
    for source in sources:
        if source.group:
            found += await directory.group_members(source.group)
        elif source.group_owners:
            found += await directory.group_owners(source.group_owners)
        elif source.group_owners_of_arg:
            group = args.get(source.group_owners_of_arg)
            if isinstance(group, str) and group.strip():
                found += await directory.group_owners(group.strip())
        elif source.manager_of_requester:
            manager = await directory.manager_of(requester)
            if manager:
                found.append(manager)
        elif source.email:
            found.append(source.email)
    unique: list[str] = []
    for email in (_norm(e) for e in found if isinstance(e, str) and e.strip()):
        if email not in unique:
            unique.append(email)
    # A deactivated account is no one's approver, whichever source named it (group, owner, manager, e-mail).
    gone = await directory.inactive(unique) if unique else set()
    return [e for e in unique if e not in gone]


def _money(amount: Decimal | None, currency: Any) -> str:
    if amount is None:
        return "an amount that could not be looked up"
    if isinstance(currency, str) and currency and currency.upper() != "USD":
        return f"{amount:,.2f} {currency.upper()[:3]}"
    return f"${amount:,.2f}"


def _render(template: str, tool: str, args: Mapping[str, Any], facts: Mapping[str, Any]) -> str:
    group = args.get("group")
    values = {
        "tool": tool[:64],
        "amount": _money(fact_amount(facts), facts.get("currency")),
        "group": " ".join(group.split())[:64] if isinstance(group, str) and group.strip() else "the group",
    }
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], template)
