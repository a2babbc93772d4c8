"""Durable hand-off records: each state change is committed together with its audit entry."""

from __future__ import annotations

import builtins
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import JSON, DateTime, Integer, String, Text, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from graphs.governance.audit import AuditLog, as_utc, begin_serialised_write
from tools.storage.db import Base

Status = Literal["pending", "posted", "ticketed", "contact", "failed"]
Destination = Literal["slack", "teams", "ticket", "none"]


class HandoffRow(Base):
    __tablename__ = "handoffs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(64), unique=True)
    team: Mapped[str] = mapped_column(String(60))
    requester: Mapped[str] = mapped_column(String(320))
    question: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(32))
    conversation_ref: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), index=True)
    destination: Mapped[str] = mapped_column(String(16))
    team_thread: Mapped[str | None] = mapped_column(String(300), unique=True)
    ticket_id: Mapped[str | None] = mapped_column(String(100))
    link: Mapped[str | None] = mapped_column(Text)
    replies: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True)
class Handoff:
    id: str
    request_id: str
    team: str
    requester: str
    question: str
    channel: str
    conversation_ref: dict[str, Any]
    status: str
    destination: str
    team_thread: str | None
    ticket_id: str | None
    link: str | None
    replies: int
    created_at: datetime


def _from_row(row: HandoffRow) -> Handoff:
    return Handoff(
        id=row.id,
        request_id=row.request_id,
        team=row.team,
        requester=row.requester,
        question=row.question,
        channel=row.channel,
        conversation_ref=dict(row.conversation_ref),
        status=row.status,
        destination=row.destination,
        team_thread=row.team_thread,
        ticket_id=row.ticket_id,
        link=row.link,
        replies=row.replies,
        created_at=as_utc(row.created_at),
    )


def new_handoff_id() -> str:
    """Short enough to quote on the phone: HO-7F3A2C9B."""
    return "HO-" + secrets.token_hex(4).upper()


class HandoffStore:
    """Hand-offs in SQL; every method that changes one writes its audit entry in the same transaction."""

    def __init__(self, sessions: sessionmaker[Session], audit: AuditLog, policy_version: str | None = None) -> None:
        self._sessions = sessions
        self._audit = audit
        self._policy_version = policy_version

    def create(
        self,
        *,
        request_id: str,
        team: str,
        requester: str,
        question: str,
        channel: str,
        conversation_ref: Mapping[str, Any],
        now: datetime | None = None,
    ) -> Handoff:
        """Persist the request before anything is sent (idempotent per turn: the same request id
        returns the existing record)."""
        moment = as_utc(now or datetime.now(UTC))
        row = HandoffRow(
            id=new_handoff_id(),
            request_id=request_id,
            team=team,
            requester=requester,
            question=question,
            channel=channel,
            conversation_ref=dict(conversation_ref),
            status="pending",
            destination="none",
            team_thread=None,
            ticket_id=None,
            link=None,
            replies=0,
            created_at=moment,
            updated_at=moment,
        )
        try:
            with self._sessions() as session, session.begin():
                begin_serialised_write(session)
                session.add(row)
                session.flush()
                self._audit.append_in(
                    session,
                    "handoff",
                    actor=requester or "anonymous",
                    request_id=request_id,
                    policy_version=self._policy_version,
                    payload={"event": "requested", "handoff_id": row.id, "team": team, "question": question},
                    now=moment,
                )
                return _from_row(row)
        except IntegrityError:
            existing = self.by_request(request_id)
            if existing is None:
                raise
            return existing

    def settle(
        self,
        handoff_id: str,
        status: Status,
        *,
        destination: Destination = "none",
        team_thread: str | None = None,
        ticket_id: str | None = None,
        link: str | None = None,
        detail: Mapping[str, Any] | None = None,
        now: datetime | None = None,
    ) -> tuple[Handoff, str]:
        """Record how delivery ended; returns the record and the audit entry id."""
        moment = as_utc(now or datetime.now(UTC))
        with self._sessions() as session, session.begin():
            begin_serialised_write(session)
            session.execute(
                update(HandoffRow)
                .where(HandoffRow.id == handoff_id)
                .values(
                    status=status,
                    destination=destination,
                    team_thread=team_thread,
                    ticket_id=ticket_id,
                    link=link,
                    updated_at=moment,
                )
            )
            row = session.get(HandoffRow, handoff_id)
            if row is None:
                raise KeyError(handoff_id)
            audit_id = self._audit.append_in(
                session,
                "handoff",
                actor="system",
                request_id=row.request_id,
                policy_version=self._policy_version,
                payload={
                    "event": status,
                    "handoff_id": handoff_id,
                    "team": row.team,
                    "destination": destination,
                    "ticket_id": ticket_id,
                    **(detail or {}),
                },
                now=moment,
            )
            return _from_row(row), audit_id

    def record_reply(self, handoff_id: str, responder: str, relayed: bool, now: datetime | None = None) -> str:
        """Count a team member's answer and audit whether it reached the requester."""
        moment = as_utc(now or datetime.now(UTC))
        with self._sessions() as session, session.begin():
            begin_serialised_write(session)
            if relayed:
                session.execute(
                    update(HandoffRow)
                    .where(HandoffRow.id == handoff_id)
                    .values(replies=HandoffRow.replies + 1, updated_at=moment)
                )
            row = session.get(HandoffRow, handoff_id)
            return self._audit.append_in(
                session,
                "handoff",
                actor=responder or "unknown",
                request_id=row.request_id if row else None,
                policy_version=self._policy_version,
                payload={"event": "reply_relayed" if relayed else "reply_not_relayed", "handoff_id": handoff_id},
                now=moment,
            )

    def get(self, handoff_id: str) -> Handoff | None:
        with self._sessions() as session:
            row = session.get(HandoffRow, handoff_id)
            return _from_row(row) if row else None

    def by_request(self, request_id: str) -> Handoff | None:
        with self._sessions() as session:
            row = session.execute(select(HandoffRow).where(HandoffRow.request_id == request_id)).scalar_one_or_none()
            return _from_row(row) if row else None

    def by_team_thread(self, key: str) -> Handoff | None:
        with self._sessions() as session:
            row = session.execute(select(HandoffRow).where(HandoffRow.team_thread == key)).scalar_one_or_none()
            return _from_row(row) if row else None

    def list(self, status: str | None = None, limit: int = 50) -> builtins.list[Handoff]:
        with self._sessions() as session:
            query = select(HandoffRow).order_by(HandoffRow.created_at.desc()).limit(limit)
            if status:
                query = query.where(HandoffRow.status == status)
            return [_from_row(r) for r in session.execute(query).scalars()]
