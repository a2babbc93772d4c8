"""Running an approved request once: approved → executing (a compare-and-set claim bound to the approved
arguments) → executed, failed or abandoned, each change committed with its audit entry."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from graphs.governance.approval_reads import ApprovalReader, utc_or_now
from graphs.governance.approval_records import Approval, ApprovalError, AuditNote
from graphs.governance.approval_tables import ApprovalRow
from graphs.governance.audit import AuditLog, as_utc, begin_serialised_write, jsonable


class ApprovalExecutions(ApprovalReader):
    """The execution half of the approval store (see graphs.governance.approvals.ApprovalStore)."""

    def __init__(self, sessions: sessionmaker[Session], audit: AuditLog | None = None) -> None:
        super().__init__(sessions)
        # Every status change writes its audit entry in its own transaction (same database).
        self._audit = audit or AuditLog(sessions)
        # Called inside the transaction of every audited change, after its entry (kind, payload): what the
        # change owes others commits with it (`deskhand approvals decide`: bot.publications.owe_publication).
        self.on_change: Callable[[Session, str, Mapping[str, Any]], None] | None = None

    @property
    def sessions(self) -> sessionmaker[Session]:
        return self._sessions

    @property
    def audit(self) -> AuditLog:
        return self._audit

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
        if self.on_change is not None:
            self.on_change(session, kind, payload)

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
        moment = utc_or_now(now)
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
            if not update_where(session, conditions, values):
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
        values = {"status": "executed" if ok else "failed", "executed_at": utc_or_now(now), "result": jsonable(result)}
        with self._sessions() as session, session.begin():
            begin_serialised_write(session)
            if not update_where(session, [ApprovalRow.id == approval_id, ApprovalRow.status == "executing"], values):
                raise ApprovalError(f"approval {approval_id} is not being executed")
            self._note(session, "execution", audit, {"approval_id": approval_id, "phase": "finished", "ok": ok})
        approval = self.get(approval_id)
        assert approval is not None
        return approval

    def abandon(
        self, approval_id: str, reason: str, now: datetime | None = None, audit: AuditNote | None = None
    ) -> bool:
        """approved or executing → failed, when the action can't (or may no longer) run; audited."""
        values = {"status": "failed", "executed_at": utc_or_now(now), "result": {"error": reason}}
        where = [ApprovalRow.id == approval_id, ApprovalRow.status.in_(("approved", "executing"))]
        with self._sessions() as session, session.begin():
            begin_serialised_write(session)
            if not update_where(session, where, values):
                return False
            payload = {"approval_id": approval_id, "phase": "abandoned", "ok": False, "reason": reason}
            self._note(session, "execution", audit, payload)
        return True


def update_where(session: Session, where: Sequence[Any], values: Mapping[str, Any]) -> bool:
    """One conditional UPDATE that also bumps the version; true when it changed exactly one row."""
    statement = (
        update(ApprovalRow)
        .where(*where)
        .values(version=ApprovalRow.version + 1, **values)
        .execution_options(synchronize_session=False)
    )
    return session.execute(statement).rowcount == 1  # type: ignore[attr-defined]
