"""Durable approval records: who may decide, compare-and-set status changes, single-use execution."""

from __future__ import annotations

import builtins
import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from channels.base import ApprovalView, Decision, DecisionOutcome
from graphs.governance.audit import AuditLog, as_utc, begin_serialised_write, canonical_json, jsonable
from tools.storage.db import Base

Status = Literal["pending", "approved", "rejected", "expired", "executing", "executed", "failed", "cancelled"]
_RETRIES = 8
UNIDENTIFIED = "Deskhand couldn't match your chat account to a directory e-mail, so you can't decide on this."
BUSY = "This request changed while you were deciding; please look at it again."
OWN_APPROVE = "You can't approve your own request."


class ApprovalRow(Base):
    __tablename__ = "approvals"
    __table_args__ = (Index("ix_approvals_status_expires", "status", "expires_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tool: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    args: Mapped[dict[str, Any]] = mapped_column(JSON)
    facts: Mapped[dict[str, Any]] = mapped_column(JSON)
    args_digest: Mapped[str] = mapped_column(String(64))
    requester: Mapped[str] = mapped_column(String(320), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    conversation_ref: Mapped[dict[str, Any]] = mapped_column(JSON)
    thread_id: Mapped[str | None] = mapped_column(String(300))
    rule_id: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    approvers: Mapped[list[str]] = mapped_column(JSON)
    required: Mapped[int] = mapped_column(Integer)
    policy_version: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    executed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    result: Mapped[Any | None] = mapped_column(JSON)
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # when execution last began
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # execution attempts (recovery gives up after a few)


class ApprovalDecisionRow(Base):
    __tablename__ = "approval_decisions"
    __table_args__ = (UniqueConstraint("approval_id", "approver", name="uq_approval_decisions_approver"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    approval_id: Mapped[str] = mapped_column(ForeignKey("approvals.id", ondelete="CASCADE"), index=True)
    approver: Mapped[str] = mapped_column(String(320))
    approve: Mapped[bool] = mapped_column(Boolean)
    comment: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ApprovalMessageRow(Base):
    __tablename__ = "approval_messages"
    __table_args__ = (UniqueConstraint("approval_id", "channel", "ref_key", name="uq_approval_messages_ref"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    approval_id: Mapped[str] = mapped_column(ForeignKey("approvals.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    ref: Mapped[dict[str, Any]] = mapped_column(JSON)
    ref_key: Mapped[str] = mapped_column(String(64))


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


class _Conflict(Exception):
    """Someone else changed the record between our read and our compare-and-set."""


STATE_FACTS = frozenset({"noop", "is_member", "on_hold"})


def compute_digest(tool: str, args: Mapping[str, Any], facts: Mapping[str, Any] | None = None) -> str:
    """sha256 over the canonical JSON of the tool, its arguments and (when given) the facts decided on."""
    body: dict[str, Any] = {"tool": tool, "args": jsonable(args)}
    # The state the action itself changes (membership, a hold, "nothing to change") is not what the approver
    # decided on: after a crash mid-execution it has already flipped, and re-driving that approval under its
    # idempotency key must still match. (A tool spec should declare these; see issue 14.)
    decided_on = {k: v for k, v in (facts or {}).items() if k not in STATE_FACTS}
    if decided_on:
        body["facts"] = jsonable(decided_on)
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def default_title(tool: str, args: Mapping[str, Any]) -> str:
    shown = ", ".join(f"{k}={v}" for k, v in jsonable(args).items())
    return f"{tool.replace('_', ' ').capitalize()}: {shown}"[:300]


def _norm(email: str) -> str:
    return email.strip().lower()


def _now(now: datetime | None) -> datetime:
    return as_utc(now or datetime.now(UTC))


class ApprovalStore:
    """Approval records in the SQL database. Methods are blocking: call them via `asyncio.to_thread`."""

    def __init__(self, sessions: sessionmaker[Session], audit: AuditLog | None = None) -> None:
        self._sessions = sessions
        # Every status change writes its audit entry in its own transaction (same database).
        self._audit = audit or AuditLog(sessions)

    def _note(self, session: Session, kind: str, note: AuditNote | None, payload: Mapping[str, Any]) -> None:
        note = note or AuditNote()
        self._audit.append_in(
            session,
            kind,
            actor=note.actor,
            request_id=note.request_id,
            policy_version=note.policy_version,
            payload={**payload, **note.payload},
            entry_id=note.entry_id,
        )

    def create(
        self,
        *,
        tool: str,
        args: Mapping[str, Any],
        requester: str,
        rule_id: str,
        mode: str,
        reason: str,
        approvers: Sequence[str],
        required: int,
        channel: str,
        conversation_ref: Mapping[str, Any],
        thread_id: str | None = None,
        expires_at: datetime | None = None,
        ttl: timedelta | None = None,
        facts: Mapping[str, Any] | None = None,
        title: str | None = None,
        policy_version: str = "",
        now: datetime | None = None,
        audit: AuditNote | None = None,
    ) -> Approval:
        """Store a pending request (mode approve or four_eyes) expiring at `expires_at` or after `ttl`.

        With `facts` (e.g. the invoice amount the policy decided on) the digest binds them too, so the
        approval can't be used once they changed.
        """
        requester = _norm(requester)
        eligible = tuple(a for a in dict.fromkeys(_norm(a) for a in approvers) if a != requester)
        if mode not in ("approve", "four_eyes"):
            raise ApprovalError(f"a {mode} requirement needs no approval record")
        if required < 1 or len(eligible) < required:
            raise ApprovalError("fewer eligible approvers than the requirement needs")
        created = _now(now)
        deadline = as_utc(expires_at) if expires_at else created + (ttl or timedelta(0))
        if deadline <= created:
            raise ApprovalError("an approval must expire in the future")
        approval_id = "apr_" + secrets.token_urlsafe(8)[:10]
        digest = compute_digest(tool, args, facts)
        row = ApprovalRow(
            id=approval_id,
            tool=tool,
            title=(title or default_title(tool, args))[:300],
            args=jsonable(args),
            facts=jsonable(facts or {}),
            args_digest=digest,
            requester=requester,
            channel=channel,
            conversation_ref=jsonable(conversation_ref),
            thread_id=thread_id,
            rule_id=rule_id,
            mode=mode,
            reason=reason,
            approvers=list(eligible),
            required=required,
            policy_version=policy_version,
            status="pending",
            version=1,
            created_at=created,
            expires_at=deadline,
            decided_at=None,
            executed_at=None,
            result=None,
            idempotency_key=f"{approval_id}.{digest[:16]}",
            attempts=0,
        )
        note = audit or AuditNote(actor=requester, policy_version=policy_version)
        with self._sessions() as session, session.begin():
            begin_serialised_write(session)
            session.add(row)
            session.flush()
            self._note(
                session,
                "approval_requested",
                note,
                {
                    "approval_id": approval_id,
                    "tool": tool,
                    "args_digest": digest,
                    "rule_id": rule_id,
                    "mode": mode,
                    "reason": reason,
                    "approvers": list(eligible),
                    "required": required,
                },
            )
        approval = self.get(approval_id)
        assert approval is not None
        return approval

    def get(self, approval_id: str) -> Approval | None:
        with self._sessions() as session:
            row = session.get(ApprovalRow, approval_id)
            return self._load(session, [row])[0] if row else None

    def list(self, status: str | None = None, limit: int = 50) -> list[Approval]:
        """Newest first."""
        query = select(ApprovalRow).order_by(ApprovalRow.created_at.desc(), ApprovalRow.id).limit(limit)
        if status:
            query = query.where(ApprovalRow.status == status)
        with self._sessions() as session:
            return self._load(session, list(session.execute(query).scalars()))

    def decide(
        self,
        approval_id: str,
        approver: str | None,
        approve: bool,
        comment: str = "",
        now: datetime | None = None,
        policy_version: str | None = None,
    ) -> DecisionResult:
        """Record one approver's decision after checking it server-side; status changes are CAS. The
        decision (accepted or refused) is audited in the same transaction."""
        moment = _now(now)
        if not approver or not approver.strip():
            return DecisionResult(False, UNIDENTIFIED)
        who = _norm(approver)
        for _attempt in range(_RETRIES):
            try:
                result = self._decide_once(approval_id, who, approve, comment, moment, policy_version)
            except (_Conflict, IntegrityError):
                continue  # someone decided in between: re-read and judge again
            return replace(result, approval=self.get(approval_id)) if result.accepted else result
        return DecisionResult(False, BUSY, None, self.get(approval_id))

    def _decide_once(
        self, approval_id: str, who: str, approve: bool, comment: str, moment: datetime, policy_version: str | None
    ) -> DecisionResult:
        note = AuditNote(actor=who, request_id=approval_id, policy_version=policy_version)

        def audited(result: DecisionResult) -> DecisionResult:
            payload = {
                "approval_id": approval_id,
                "approve": approve,
                "accepted": result.accepted,
                "became": result.became,
                "message": result.message,
            }
            self._note(session, "approval_decision", note, payload)
            return result

        with self._sessions() as session, session.begin():
            begin_serialised_write(session)
            row = session.get(ApprovalRow, approval_id)
            if row is None:
                return audited(DecisionResult(False, f"There is no approval request {approval_id}."))
            current = self._load(session, [row])[0]
            expiring = current.status == "pending" and moment >= current.expires_at
            if expiring and self._cas(session, current, status="expired"):
                current = replace(current, status="expired", version=current.version + 1)
                return audited(DecisionResult(False, _refusal(current, who, approve) or "", "expired", current))
            refusal = _refusal(current, who, approve)
            if refusal:
                return audited(DecisionResult(False, refusal, None, current))
            session.add(
                ApprovalDecisionRow(
                    approval_id=approval_id, approver=who, approve=approve, comment=comment[:2000], at=moment
                )
            )
            session.flush()
            approvals = {*current.approved_by, who} if approve else set()
            status = "rejected" if not approve else "approved" if len(approvals) >= current.required else "pending"
            if not self._cas(session, current, status=status, decided_at=None if status == "pending" else moment):
                raise _Conflict
            if status == "rejected":
                return audited(DecisionResult(True, "Rejected. The requester will be told.", "rejected"))
            if status == "approved":
                return audited(DecisionResult(True, "Approved. The action will run now.", "approved"))
            others = [a for a in current.approvers if a not in approvals]
            return audited(
                DecisionResult(True, f"Approved. One more approval is needed (eligible: {', '.join(others)}).")
            )

    @staticmethod
    def _cas(session: Session, current: Approval, **values: Any) -> bool:
        """UPDATE … WHERE id=? AND version=?: true only if nobody changed the record since we read it."""
        return _update(session, [ApprovalRow.id == current.id, ApprovalRow.version == current.version], values)

    def cancel(self, approval_id: str, by: str, now: datetime | None = None) -> DecisionResult:
        """The requester withdraws a pending request."""
        current = self.get(approval_id)
        if current is None:
            return DecisionResult(False, f"There is no approval request {approval_id}.")
        if _norm(by) != current.requester:
            return DecisionResult(False, "Only the requester can cancel this request.", None, current)
        if current.status != "pending":
            return DecisionResult(False, _refusal(current, _norm(by), True) or "", None, current)
        with self._sessions() as session, session.begin():
            begin_serialised_write(session)
            changed = self._cas(session, current, status="cancelled", decided_at=_now(now))
            if changed:
                note = AuditNote(actor=current.requester, request_id=approval_id)
                self._note(session, "approval_decision", note, {"approval_id": approval_id, "became": "cancelled"})
        if not changed:
            return DecisionResult(False, BUSY, None, self.get(approval_id))
        return DecisionResult(True, "Cancelled.", None, self.get(approval_id))

    def reassign(self, current: Approval, approvers: Sequence[str]) -> bool:
        """Replace who may decide on a pending request (re-checked at decision time: someone was
        deactivated or left the group); compare-and-set, so a decision in between wins."""
        eligible = [a for a in dict.fromkeys(_norm(a) for a in approvers) if a != current.requester]
        with self._sessions() as session, session.begin():
            where = [ApprovalRow.id == current.id, ApprovalRow.version == current.version]
            return _update(session, [*where, ApprovalRow.status == "pending"], {"approvers": eligible})

    def by_requester(self, requester: str, limit: int = 20) -> builtins.list[Approval]:
        """One person's own requests, newest first."""
        query = (
            select(ApprovalRow)
            .where(ApprovalRow.requester == _norm(requester))
            .order_by(ApprovalRow.created_at.desc(), ApprovalRow.id)
            .limit(limit)
        )
        with self._sessions() as session:
            return self._load(session, list(session.execute(query).scalars()))

    def claim_execution(
        self,
        approval_id: str,
        args_digest: str,
        now: datetime | None = None,
        *,
        stale_before: datetime | None = None,
        audit: AuditNote | None = None,
    ) -> bool:
        """approved → executing, once, and only for exactly the arguments that were approved.

        With `stale_before`, an execution claimed before that moment (its process died) may be claimed
        again: the tools are idempotent under the approval's key, so re-running finishes the work once.
        """
        moment = _now(now)
        claimable = ApprovalRow.status == "approved"
        if stale_before is not None:
            stale = (ApprovalRow.status == "executing") & (
                ApprovalRow.claimed_at.is_(None) | (ApprovalRow.claimed_at < as_utc(stale_before))
            )
            claimable = claimable | stale
        conditions = [ApprovalRow.id == approval_id, claimable, ApprovalRow.args_digest == args_digest]
        with self._sessions() as session, session.begin():
            begin_serialised_write(session)
            values = {"status": "executing", "claimed_at": moment, "attempts": ApprovalRow.attempts + 1}
            if not _update(session, conditions, values):
                return False
            row = session.get(ApprovalRow, approval_id)
            attempt = row.attempts if row is not None else 1
            self._note(
                session, "execution", audit, {"approval_id": approval_id, "phase": "started", "attempt": attempt}
            )
        return True

    def finish_execution(
        self, approval_id: str, ok: bool, result: Any, now: datetime | None = None, audit: AuditNote | None = None
    ) -> Approval:
        """executing → executed (ok) or failed, recording the (JSON-able) result and its audit entry."""
        values = {"status": "executed" if ok else "failed", "executed_at": _now(now), "result": jsonable(result)}
        with self._sessions() as session, session.begin():
            begin_serialised_write(session)
            if not _update(session, [ApprovalRow.id == approval_id, ApprovalRow.status == "executing"], values):
                raise ApprovalError(f"approval {approval_id} is not being executed")
            self._note(session, "execution", audit, {"approval_id": approval_id, "phase": "finished", "ok": ok})
        approval = self.get(approval_id)
        assert approval is not None
        return approval

    def abandon(
        self, approval_id: str, reason: str, now: datetime | None = None, audit: AuditNote | None = None
    ) -> bool:
        """approved or executing → failed, when the action can't (or may no longer) run; audited."""
        values = {"status": "failed", "executed_at": _now(now), "result": {"error": reason}}
        where = [ApprovalRow.id == approval_id, ApprovalRow.status.in_(("approved", "executing"))]
        with self._sessions() as session, session.begin():
            begin_serialised_write(session)
            if not _update(session, where, values):
                return False
            payload = {"approval_id": approval_id, "phase": "abandoned", "ok": False, "reason": reason}
            self._note(session, "execution", audit, payload)
        return True

    def due_for_recovery(self, *, decided_before: datetime, claimed_before: datetime) -> builtins.list[Approval]:
        """Approved requests nobody started executing, and executions whose process died (claimed long ago)."""
        approved = (ApprovalRow.status == "approved") & (ApprovalRow.decided_at < as_utc(decided_before))
        stale = (ApprovalRow.status == "executing") & (
            ApprovalRow.claimed_at.is_(None) | (ApprovalRow.claimed_at < as_utc(claimed_before))
        )
        query = select(ApprovalRow).where(approved | stale).order_by(ApprovalRow.decided_at).limit(100)
        with self._sessions() as session:
            return self._load(session, list(session.execute(query).scalars()))

    def expire_due(self, now: datetime | None = None, policy_version: str | None = None) -> builtins.list[Approval]:
        """Mark pending requests past their expiry as expired; return exactly those this call expired."""
        moment = _now(now)
        expired: builtins.list[Approval] = []
        with self._sessions() as session:
            due = session.execute(
                select(ApprovalRow).where(ApprovalRow.status == "pending", ApprovalRow.expires_at <= moment)
            ).scalars()
            candidates = self._load(session, list(due))
        for current in candidates:
            with self._sessions() as session, session.begin():
                begin_serialised_write(session)
                changed = self._cas(session, current, status="expired")
                if changed:
                    note = AuditNote(request_id=current.id, policy_version=policy_version)
                    self._note(session, "approval_decision", note, {"approval_id": current.id, "became": "expired"})
            if changed:
                expired.append(replace(current, status="expired", version=current.version + 1))
        return expired

    def add_message_ref(self, approval_id: str, channel: str, ref: Mapping[str, Any]) -> None:
        """Remember where the approval was shown (idempotent)."""
        data = jsonable(ref)
        key = hashlib.sha256(canonical_json(data).encode("utf-8")).hexdigest()
        try:
            with self._sessions() as session, session.begin():
                session.add(ApprovalMessageRow(approval_id=approval_id, channel=channel, ref=data, ref_key=key))
        except IntegrityError:
            if self.get(approval_id) is None:
                raise ApprovalError(f"there is no approval {approval_id}") from None

    def message_refs(self, approval_id: str) -> builtins.list[tuple[str, dict[str, Any]]]:
        with self._sessions() as session:
            rows = session.execute(
                select(ApprovalMessageRow)
                .where(ApprovalMessageRow.approval_id == approval_id)
                .order_by(ApprovalMessageRow.id)
            ).scalars()
            return [(row.channel, dict(row.ref)) for row in rows]

    @staticmethod
    def to_view(approval: Approval) -> ApprovalView:
        return ApprovalView(
            approval_id=approval.id,
            title=approval.title,
            requester=approval.requester,
            reason=approval.reason,
            rule=approval.rule_id,
            mode=approval.mode,
            approvers=approval.approvers,
            required=approval.required,
            expires_at=approval.expires_at,
            # "executing" is ours alone; to people it is approved and under way.
            status="approved" if approval.status == "executing" else approval.status,
            decisions=approval.decisions,
            arguments=dict(approval.args),
        )

    def to_outcome(self, result: DecisionResult) -> DecisionOutcome:
        view = self.to_view(result.approval) if result.approval else None
        return DecisionOutcome(accepted=result.accepted, message=result.message, approval=view)

    @staticmethod
    def _load(session: Session, rows: Sequence[ApprovalRow]) -> builtins.list[Approval]:
        ids = [row.id for row in rows]
        decisions: dict[str, builtins.list[Decision]] = {i: [] for i in ids}
        if ids:
            found = session.execute(
                select(ApprovalDecisionRow)
                .where(ApprovalDecisionRow.approval_id.in_(ids))
                .order_by(ApprovalDecisionRow.id)
            ).scalars()
            for d in found:
                decisions[d.approval_id].append(Decision(d.approver, d.approve, as_utc(d.at), d.comment))
        return [_from_row(row, tuple(decisions[row.id])) for row in rows]


def _update(session: Session, where: Sequence[Any], values: Mapping[str, Any]) -> bool:
    """One conditional UPDATE that also bumps the version; true when it changed exactly one row."""
    statement = (
        update(ApprovalRow)
        .where(*where)
        .values(version=ApprovalRow.version + 1, **values)
        .execution_options(synchronize_session=False)
    )
    return session.execute(statement).rowcount == 1  # type: ignore[attr-defined]


def _from_row(row: ApprovalRow, decisions: tuple[Decision, ...]) -> Approval:
    values = {f.name: getattr(row, f.name) for f in fields(Approval) if f.name != "decisions"}
    for key in ("created_at", "expires_at", "decided_at", "executed_at", "claimed_at"):
        values[key] = as_utc(values[key]) if values[key] else None
    for key in ("args", "facts", "conversation_ref"):
        values[key] = dict(values[key])
    values["approvers"] = tuple(values["approvers"])
    values["attempts"] = values["attempts"] or 0
    return Approval(**values, decisions=decisions)


def when(moment: datetime) -> str:
    return as_utc(moment).strftime("%Y-%m-%d %H:%M UTC")


def _refusal(current: Approval, who: str, approve: bool) -> str | None:
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
