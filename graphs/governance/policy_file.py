"""The risk policy file's shape (YAML → validated models) and the messages that name a faulty rule."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

Mode = Literal["auto", "confirm", "approve", "four_eyes", "deny"]
PLACEHOLDERS = frozenset({"tool", "amount", "group"})
PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class PolicyError(Exception):
    """The policy file is missing or invalid; the message names the rule and the field."""


class ApproverSource(BaseModel):
    """One place approvers come from; exactly one field is set (a bare string is an e-mail)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    group: str | None = Field(default=None, min_length=1)
    group_owners: str | None = Field(default=None, min_length=1)
    group_owners_of_arg: str | None = Field(default=None, min_length=1)
    manager_of_requester: Literal[True] | None = None
    email: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _bare_email(cls, value: Any) -> Any:
        return {"email": value} if isinstance(value, str) else value

    @field_validator("email")
    @classmethod
    def _valid_email(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.match(value):
            raise ValueError("must be an e-mail address")
        return value.strip().lower() if value else value

    @model_validator(mode="after")
    def _exactly_one(self) -> ApproverSource:
        if len(self.model_dump(exclude_none=True)) != 1:
            raise ValueError(
                "an approver source sets exactly one of group, group_owners, group_owners_of_arg, "
                "manager_of_requester, email"
            )
        return self


class Condition(BaseModel):
    """When a rule applies; every condition given must hold."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    always: Literal[True] | None = None
    amount_over: Decimal | None = Field(default=None, ge=0, allow_inf_nan=False)
    group_in: list[str] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _something(self) -> Condition:
        given = self.model_dump(exclude_none=True)
        if not given:
            raise ValueError("a condition needs at least one of always, amount_over, group_in")
        if self.always and len(given) > 1:
            raise ValueError("always: true cannot be combined with other conditions")
        return self


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")
    when: Condition | None = None
    mode: Mode
    approvers: list[ApproverSource] = Field(default_factory=list)
    fallback: list[ApproverSource] | None = None
    reason: str = Field(min_length=1, max_length=300)

    @field_validator("reason")
    @classmethod
    def _known_placeholders(cls, value: str) -> str:
        unknown = sorted(set(PLACEHOLDER.findall(value)) - PLACEHOLDERS)
        if unknown:
            raise ValueError(f"unknown placeholder {{{unknown[0]}}}; use {{tool}}, {{amount}} or {{group}}")
        return value

    @model_validator(mode="after")
    def _approvers_fit_mode(self) -> Rule:
        if self.mode in ("approve", "four_eyes") and not self.approvers:
            raise ValueError(f"approvers: a {self.mode} rule needs at least one approver source")
        if self.mode not in ("approve", "four_eyes") and (self.approvers or self.fallback):
            raise ValueError(f"approvers: a {self.mode} rule takes no approvers")
        return self

    @property
    def always_matches(self) -> bool:
        return self.when is None or bool(self.when.always)


class PolicyFile(BaseModel):
    """The YAML file's shape."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_confidence_for_auto: float = Field(ge=0.0, le=1.0)
    fallback_approvers: list[ApproverSource] = Field(min_length=1)
    default: Rule
    tools: dict[str, list[Rule]] = Field(default_factory=dict)

    @field_validator("tools")
    @classmethod
    def _tool_names(cls, value: dict[str, list[Rule]]) -> dict[str, list[Rule]]:
        for name, rules in value.items():
            if not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", name):
                raise ValueError(f"tool name {name!r} must be lower_snake_case")
            if not rules:
                raise ValueError(f"tool {name!r} needs at least one rule")
        return value

    @model_validator(mode="after")
    def _default_is_strict(self) -> PolicyFile:
        if self.default.mode not in ("approve", "four_eyes", "deny"):
            raise ValueError("default: mode must be approve, four_eyes or deny (deny by default)")
        if self.default.when is not None:
            raise ValueError("default: the default rule takes no `when`")
        return self


def _rule_label(raw: Mapping[str, Any], loc: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    """Name the rule a validation error points into, and return the rest of the location."""
    if loc and loc[0] == "default":
        rule = raw.get("default")
        rid = rule.get("id") if isinstance(rule, dict) else None
        return f"rule '{rid or 'default'}' (default)", loc[1:]
    if len(loc) >= 3 and loc[0] == "tools" and isinstance(loc[2], int):
        rules = (raw.get("tools") or {}).get(loc[1])
        rule = rules[loc[2]] if isinstance(rules, list) and loc[2] < len(rules) else None
        rid = rule.get("id") if isinstance(rule, dict) else None
        name = f"rule '{rid}'" if rid else f"rule #{loc[2] + 1}"
        return f"{name} (tools.{loc[1]}[{loc[2]}])", loc[3:]
    if len(loc) >= 2 and loc[0] == "tools":
        return f"tool '{loc[1]}'", loc[2:]
    return "policy", loc


def explain(path: Path, raw: Mapping[str, Any], exc: ValidationError) -> str:
    lines = []
    for err in exc.errors(include_input=False, include_url=False):
        where, rest = _rule_label(raw, tuple(err["loc"]))
        field = ".".join(str(p) for p in rest if not str(p).startswith(("function-", "tagged-")))
        message = str(err["msg"]).removeprefix("Value error, ")
        lines.append(f"{where}: {field}: {message}" if field else f"{where}: {message}")
    return f"{path}: invalid risk policy:\n  " + "\n  ".join(lines)


def check_order(path: Path, spec: PolicyFile) -> None:
    seen: dict[str, str] = {spec.default.id: "default"}
    for tool, rules in spec.tools.items():
        for i, rule in enumerate(rules):
            if rule.id in seen:
                raise PolicyError(f"{path}: rule '{rule.id}' (tools.{tool}[{i}]): id: already used by {seen[rule.id]}")
            seen[rule.id] = f"tools.{tool}"
            if rule.always_matches and i < len(rules) - 1:
                raise PolicyError(
                    f"{path}: rule '{rules[i + 1].id}' (tools.{tool}[{i + 1}]): when: can never match, "
                    f"because rule '{rule.id}' before it always matches"
                )
