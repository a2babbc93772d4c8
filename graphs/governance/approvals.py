"""Durable approval records: who may decide, compare-and-set status changes, single-use execution. Every
change commits with its audit entry. (Reads are in approval_reads, the record types in approval_records.)"""

from __future__ import annotations

import builtins
import hashlib
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from graphs.governance.approval_execution import ApprovalExecutions, update_where
from graphs.governance.approval_reads import norm_email, utc_or_now
from graphs.governance.approval_records import (
    BUSY,
    OWN_APPROVE,
    UNIDENTIFIED,
    Approval,
    ApprovalError,
    AuditNote,
    DecisionResult,
    Status,
    compute_digest,
    default_title,
    when,
)
from graphs.governance.approval_records import (
    refusal as _refusal,
)
from graphs.governance.approval_tables import ApprovalDecisionRow, ApprovalMessageRow, ApprovalRow
from graphs.governance.audit import as_utc, begin_serialised_write, canonical_json, jsonable

__all__ = [  # the store, and (for callers that only need one import) the record types
    "BUSY",
    "OWN_APPROVE",
    "UNIDENTIFIED",
    "Approval",
    "ApprovalDecisionRow",
    "ApprovalError",
    "ApprovalMessageRow",
    "ApprovalRow",
    "ApprovalStore",
    "AuditNote",
    "DecisionResult",
    "Status",
    "compute_digest",
    "default_title",
    "when",
]
_RETRIES = 8


class _Conflict(Exception):
    """Someone else changed the record between our read and our compare-and-set."""


class ApprovalStore(ApprovalExecutions):
    """Approval records in the SQL database. Methods are blocking: call them via `asyncio.to_thread`."""

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
        state_facts: Iterable[str] = (),
        title: str | None = None,
        policy_version: str = "",
        now: datetime | None = None,
        audit: AuditNote | None = None,
        claim: Callable[[Session, str, str], None] | None = None,
    ) -> Approval:
        """Store a pending request (mode approve or four_eyes) expiring at `expires_at` or after `ttl`.

        With `facts` (e.g. the invoice amount the policy decided on) the digest binds them too, except the
        `state_facts` the action itself flips, so the approval can't be used once they changed.
        `claim(session, approval_id, digest)` runs inside the insert's transaction (graphs.governance.approval_joins:
        one pending approval per digest); it may raise to abort.
        """
        requester = norm_email(requester)
        eligible = tuple(a for a in dict.fromkeys(norm_email(a) for a in approvers) if a != requester)
        if mode not in ("approve", "four_eyes"):
            raise ApprovalError(f"a {mode} requirement needs no approval record")
        if required < 1 or len(eligible) < required:
            raise ApprovalError("fewer eligible approvers than the requirement needs")
        created = utc_or_now(now)
        deadline = as_utc(expires_at) if expires_at else created + (ttl or timedelta(0))
        if deadline <= created:
            raise ApprovalError("an approval must expire in the future")
        approval_id = "apr_" + secrets.token_urlsafe(8)[:10]
        digest = compute_digest(tool, args, facts, state_facts)
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
            if claim is not None:
                claim(session, approval_id, digest)
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
        moment = utc_or_now(now)
        if not approver or not approver.strip():
            return DecisionResult(False, UNIDENTIFIED)
        who = norm_email(approver)
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
            if comment:  # the approver's reason or comment, kept with the decision it explains
                payload["comment"] = comment[:2000]
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
        return update_where(session, [ApprovalRow.id == current.id, ApprovalRow.version == current.version], values)

    def cancel(self, approval_id: str, by: str, now: datetime | None = None) -> DecisionResult:
        """The requester withdraws a pending request."""
        current = self.get(approval_id)
        if current is None:
            return DecisionResult(False, f"There is no approval request {approval_id}.")
        if norm_email(by) != current.requester:
            return DecisionResult(False, "Only the requester can cancel this request.", None, current)
        if current.status != "pending":
            return DecisionResult(False, _refusal(current, norm_email(by), True) or "", None, current)
        with self._sessions() as session, session.begin():
            begin_serialised_write(session)
            changed = self._cas(session, current, status="cancelled", decided_at=utc_or_now(now))
            if changed:
                note = AuditNote(actor=current.requester, request_id=approval_id)
                self._note(session, "approval_decision", note, {"approval_id": approval_id, "became": "cancelled"})
        if not changed:
            return DecisionResult(False, BUSY, None, self.get(approval_id))
        return DecisionResult(True, "Cancelled.", None, self.get(approval_id))

    def reassign(self, current: Approval, approvers: Sequence[str]) -> bool:
        """Replace who may decide on a pending request (re-checked at decision time: someone was
        deactivated or left the group); compare-and-set, so a decision in between wins."""
        eligible = [a for a in dict.fromkeys(norm_email(a) for a in approvers) if a != current.requester]
        with self._sessions() as session, session.begin():
            where = [ApprovalRow.id == current.id, ApprovalRow.version == current.version]
            return update_where(session, [*where, ApprovalRow.status == "pending"], {"approvers": eligible})

    def expire_due(self, now: datetime | None = None, policy_version: str | None = None) -> builtins.list[Approval]:
        """Mark pending requests past their expiry as expired; return exactly those this call expired."""
        moment = utc_or_now(now)
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
