"""Reading approval records: one request, lists (all, one requester's, due for recovery), where each is
shown, and the view channels render. Methods are blocking: call them via `asyncio.to_thread`."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from channels.base import ApprovalView, Decision, DecisionOutcome
from graphs.governance.approval_records import Approval, DecisionResult
from graphs.governance.approval_tables import ApprovalDecisionRow, ApprovalMessageRow, ApprovalRow
from graphs.governance.audit import as_utc


def norm_email(email: str) -> str:
    return email.strip().lower()


def utc_or_now(now: datetime | None) -> datetime:
    return as_utc(now or datetime.now(UTC))


class ApprovalReader:
    """Read access to the approval records in the SQL database."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

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

    def by_requester(self, requester: str, limit: int = 20) -> builtins.list[Approval]:
        """One person's own requests, newest first."""
        query = (
            select(ApprovalRow)
            .where(ApprovalRow.requester == norm_email(requester))
            .order_by(ApprovalRow.created_at.desc(), ApprovalRow.id)
            .limit(limit)
        )
        with self._sessions() as session:
            return self._load(session, list(session.execute(query).scalars()))

    def due_for_recovery(self, *, decided_before: datetime, claimed_before: datetime) -> builtins.list[Approval]:
        """Approved requests nobody started executing, and executions whose process died (claimed long ago)."""
        approved = (ApprovalRow.status == "approved") & (ApprovalRow.decided_at < as_utc(decided_before))
        stale = (ApprovalRow.status == "executing") & (
            ApprovalRow.claimed_at.is_(None) | (ApprovalRow.claimed_at < as_utc(claimed_before))
        )
        query = select(ApprovalRow).where(approved | stale).order_by(ApprovalRow.decided_at).limit(100)
        with self._sessions() as session:
            return self._load(session, list(session.execute(query).scalars()))

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


def _from_row(row: ApprovalRow, decisions: tuple[Decision, ...]) -> Approval:
    values = {f.name: getattr(row, f.name) for f in fields(Approval) if f.name != "decisions"}
    for key in ("created_at", "expires_at", "decided_at", "executed_at", "claimed_at"):
        values[key] = as_utc(values[key]) if values[key] else None
    for key in ("args", "facts", "conversation_ref"):
        values[key] = dict(values[key])
    values["approvers"] = tuple(values["approvers"])
    values["attempts"] = values["attempts"] or 0
    return Approval(**values, decisions=decisions)
