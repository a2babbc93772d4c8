"""What an approval request is (its record, a decision's result, the audit note of a change), the digest
that binds it to the exact action, and the sentences that say why someone may not decide on it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from channels.base import Decision
from graphs.governance.audit import as_utc, canonical_json, jsonable

Status = Literal["pending", "approved", "rejected", "expired", "executing", "executed", "failed", "cancelled"]
UNIDENTIFIED = "Deskhand couldn't match your chat account to a directory e-mail, so you can't decide on this."
BUSY = "This request changed while you were deciding; please look at it again."
OWN_APPROVE = "You can't approve your own request."


@dataclass(frozen=True)
class Approval:
    """One approval request as stored, with its decisions (oldest first)."""

    id: str
    tool: str
    title: str
    args: dict[str, Any]
    facts: dict[str, Any]
    args_digest: str
    requester: str
    channel: str
    conversation_ref: dict[str, Any]
    thread_id: str | None
    rule_id: str
    mode: Literal["approve", "four_eyes"]
    reason: str
    approvers: tuple[str, ...]
    required: int
    policy_version: str
    status: Status
    version: int
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None
    executed_at: datetime | None
    result: Any
    idempotency_key: str
    claimed_at: datetime | None = None
    attempts: int = 0
    decisions: tuple[Decision, ...] = ()

    @property
    def approved_by(self) -> tuple[str, ...]:
        return tuple(d.approver for d in self.decisions if d.approve)

    @property
    def rejected_by(self) -> tuple[str, ...]:
        return tuple(d.approver for d in self.decisions if not d.approve)


@dataclass(frozen=True)
class DecisionResult:
    accepted: bool  # False: nothing changed, `message` says why
    message: str  # a sentence for the person who clicked
    # Set for exactly one caller per approval: the one whose call approved, rejected or expired it.
    became: Literal["approved", "rejected", "expired"] | None = None
    approval: Approval | None = None


@dataclass(frozen=True)
class AuditNote:
    """Who caused a state change and what else to record: its audit entry commits in the same transaction."""

    actor: str = "system"
    request_id: str | None = None
    policy_version: str | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)
    entry_id: str | None = None  # chosen by the caller when it needs the id (feedback buttons)


class ApprovalError(Exception):
    """An approval record was used in a way its state doesn't allow (a bug in the caller)."""


def compute_digest(
    tool: str, args: Mapping[str, Any], facts: Mapping[str, Any] | None = None, state_facts: Iterable[str] = ()
) -> str:
    """sha256 over the canonical JSON of the tool, its arguments and (when given) the facts decided on."""
    body: dict[str, Any] = {"tool": tool, "args": jsonable(args)}
    # The state the action itself changes (the tool spec's `state_facts`: membership, a hold, "nothing to
    # change") is not what the approver decided on: after a crash mid-execution it has already flipped, and
    # re-driving that approval under its idempotency key must still match.
    skip = frozenset(state_facts)
    decided_on = {k: v for k, v in (facts or {}).items() if k not in skip}
    if decided_on:
        body["facts"] = jsonable(decided_on)
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def default_title(tool: str, args: Mapping[str, Any]) -> str:
    shown = ", ".join(f"{k}={v}" for k, v in jsonable(args).items())
    return f"{tool.replace('_', ' ').capitalize()}: {shown}"[:300]


def when(moment: datetime) -> str:
    return as_utc(moment).strftime("%Y-%m-%d %H:%M UTC")


def refusal(current: Approval, who: str, approve: bool) -> str | None:
    """Why `who` may not decide on `current` now (a sentence for them alone), or None when they may."""
    approved = " and ".join(current.approved_by) or "an approver"
    rejected = " and ".join(current.rejected_by) or "an approver"
    closed = {
        "approved": f"This request was already approved by {approved}.",
        "executing": f"This request was already approved by {approved}.",
        "executed": f"This request was already approved by {approved} and has been carried out.",
        "failed": f"This request was approved by {approved}, but carrying it out failed.",
        "rejected": f"This request was already rejected by {rejected}.",
        "expired": f"This request expired at {when(current.expires_at)}.",
        "cancelled": "This request was cancelled by the requester.",
    }
    if current.status in closed:
        return closed[current.status]
    if who == current.requester:
        return OWN_APPROVE if approve else "You can't reject your own request; cancel it instead."
    if who not in current.approvers:
        return f"You are not an eligible approver for this request (eligible: {', '.join(current.approvers)})."
    if who in current.approved_by:
        return "You already approved this; it needs a second approver."
    return None
