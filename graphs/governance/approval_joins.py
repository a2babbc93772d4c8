"""One request, one approval: an identical request (same digest) made while one is pending joins it instead
of asking the approvers again.

Race-safe across processes: the digest is the primary key of `approval_digest_claims`, inserted in the same
transaction as the approval row, so of two simultaneous identical requests exactly one creates an approval
and the other joins it. A claim whose approval is no longer pending (decided, expired, cancelled) is taken
over by the next request. Someone other than the original requester who joins is recorded as waiting
(`approval_waiters`): they are told the outcome in their own conversation, and they cannot decide on it
(they asked for it too; it is treated as their own request).
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from graphs.governance.approvals import Approval, ApprovalError, ApprovalRow, ApprovalStore, AuditNote
from graphs.governance.audit import as_utc, begin_serialised_write, jsonable
from tools.storage.db import Base

_RETRIES = 5
JOINER_DECIDES = "You asked for this too, so you can't decide on it; another approver will."


class ApprovalClaimRow(Base):
    __tablename__ = "approval_digest_claims"

    args_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    approval_id: Mapped[str] = mapped_column(ForeignKey("approvals.id", ondelete="CASCADE"))
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ApprovalWaiterRow(Base):
    __tablename__ = "approval_waiters"
    __table_args__ = (UniqueConstraint("approval_id", "requester", name="uq_approval_waiters_requester"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    approval_id: Mapped[str] = mapped_column(ForeignKey("approvals.id", ondelete="CASCADE"), index=True)
    requester: Mapped[str] = mapped_column(String(320))
    channel: Mapped[str] = mapped_column(String(32))
    conversation_ref: Mapped[dict[str, Any]] = mapped_column(JSON)
    joined_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True)
class Waiter:
    """Someone else who asked for exactly what a pending approval asks for."""

    requester: str
    channel: str
    conversation_ref: dict[str, Any]


@dataclass(frozen=True)
class Requested:
    approval: Approval
    joined: bool  # True: an identical request was already pending; `approval` is that one


class _Held(Exception):
    """The digest is claimed by a pending approval: join it (raised inside, and aborting, the insert)."""

    def __init__(self, approval_id: str) -> None:
        super().__init__(approval_id)
        self.approval_id = approval_id


class ApprovalJoins:
    """Creates approvals through `ApprovalStore.create`, or joins the identical pending one. Blocking."""

    def __init__(self, store: ApprovalStore) -> None:
        self._store = store

    def request(self, *, requester: str, channel: str, conversation_ref: dict[str, Any], **create: Any) -> Requested:
        """`ApprovalStore.create(**create)` unless an identical request is pending; then join that one."""
        moment = as_utc(create.get("now") or datetime.now(UTC))
        note: AuditNote = create.get("audit") or AuditNote(actor=requester)
        who = requester.strip().lower()
        for _attempt in range(_RETRIES):
            try:
                approval = self._store.create(
                    requester=requester,
                    channel=channel,
                    conversation_ref=conversation_ref,
                    claim=partial(_claim, now=moment),
                    **create,
                )
                return Requested(approval, joined=False)
            except _Held as held:
                joined = self._join(held.approval_id, who, channel, conversation_ref, moment, note)
                if joined is not None:
                    return Requested(joined, joined=True)
            except IntegrityError:
                continue  # an identical request committed its claim between our insert and our check
        raise ApprovalError("could not create or join an approval for this request (busy)")

    def _join(
        self, approval_id: str, who: str, channel: str, ref: dict[str, Any], moment: datetime, note: AuditNote
    ) -> Approval | None:
        """Record `who` as waiting on the pending approval; None when it closed meanwhile (ask anew)."""
        with self._store.sessions() as session, session.begin():
            begin_serialised_write(session)
            # The row lock orders us with a decision's compare-and-set: the outcome's notification reads
            # the waiters after the decision committed, so a joiner is either told or gets a new approval.
            row = session.execute(select(ApprovalRow).where(ApprovalRow.id == approval_id).with_for_update()).scalar()
            if row is None or row.status != "pending" or as_utc(row.expires_at) <= moment:
                return None
            if who != row.requester:
                try:
                    with session.begin_nested():
                        session.add(
                            ApprovalWaiterRow(
                                approval_id=approval_id,
                                requester=who,
                                channel=channel,
                                conversation_ref=jsonable(ref),
                                joined_at=moment,
                            )
                        )
                except IntegrityError:
                    pass  # already waiting on it: asking again changes nothing
            self._store.audit.append_in(
                session,
                "approval_joined",
                actor=who,
                request_id=note.request_id,
                policy_version=note.policy_version,
                payload={
                    "approval_id": approval_id,
                    "args_digest": row.args_digest,
                    "same_requester": who == row.requester,
                },
            )
        return self._store.get(approval_id)

    def waiters(self, approval_id: str) -> builtins.list[Waiter]:
        with self._store.sessions() as session:
            rows = session.execute(
                select(ApprovalWaiterRow)
                .where(ApprovalWaiterRow.approval_id == approval_id)
                .order_by(ApprovalWaiterRow.id)
            ).scalars()
            return [Waiter(r.requester, r.channel, dict(r.conversation_ref)) for r in rows]

    def refusal(self, approval_id: str, who: str) -> str | None:
        """Why `who` may not decide: they joined this request as a requester themselves."""
        joined = {w.requester for w in self.waiters(approval_id)}
        return JOINER_DECIDES if who.strip().lower() in joined else None


def _claim(session: Session, approval_id: str, digest: str, *, now: datetime) -> None:
    """Inside the new approval's insert: claim its digest, take over a stale claim, or raise `_Held`."""
    try:
        with session.begin_nested():
            session.add(ApprovalClaimRow(args_digest=digest, approval_id=approval_id, claimed_at=now))
        return
    except IntegrityError:
        pass  # claimed before: by a pending approval (join it) or by one that has closed (take it over)
    claim = session.execute(
        select(ApprovalClaimRow).where(ApprovalClaimRow.args_digest == digest).with_for_update()
    ).scalar_one()
    holder = session.execute(
        select(ApprovalRow).where(ApprovalRow.id == claim.approval_id).with_for_update()
    ).scalar_one_or_none()
    if holder is not None and holder.status == "pending" and as_utc(holder.expires_at) > now:
        raise _Held(holder.id)
    claim.approval_id, claim.claimed_at = approval_id, now
    session.flush()
