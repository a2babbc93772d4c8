"""The SQL table behind the channels' durable inbox (`channels.inbox.InboxStore`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, DateTime, Index, Integer, String, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from channels.inbox import Accepted, InboxItem
from tools.storage.db import Base

UNFINISHED = ("received", "answered")


class InboxRow(Base):
    __tablename__ = "channel_inbox"
    __table_args__ = (Index("ix_channel_inbox_state_lease", "state", "lease_until"),)

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reply: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class SqlInboxStore:
    """Accepted events in the shared SQL database; every change is one conditional statement."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def accept(
        self, key: str, channel: str, kind: str, payload: Mapping[str, Any], now: datetime, lease: timedelta
    ) -> Accepted:
        row = InboxRow(
            key=key,
            channel=channel,
            kind=kind,
            payload=dict(payload),
            state="received",
            attempts=1,
            received_at=now,
            lease_until=now + lease,
            finished_at=None,
            reply=None,
        )
        try:
            with self._sessions() as session, session.begin():
                session.add(row)
            return "new"
        except IntegrityError:
            pass
        # Seen before: take it over only when unfinished and its handler's lease ran out (it died).
        with self._sessions() as session, session.begin():
            taken = session.execute(
                update(InboxRow)
                .where(InboxRow.key == key, InboxRow.state.in_(UNFINISHED), InboxRow.lease_until < now)
                .values(lease_until=now + lease, attempts=InboxRow.attempts + 1)
                .execution_options(synchronize_session=False)
            ).rowcount  # type: ignore[attr-defined]
        return "takeover" if taken == 1 else "duplicate"

    def answered(self, key: str, reply: Mapping[str, Any], now: datetime, lease: timedelta) -> None:
        with self._sessions() as session, session.begin():
            session.execute(
                update(InboxRow)
                .where(InboxRow.key == key, InboxRow.state.in_(UNFINISHED))
                .values(state="answered", reply=dict(reply), lease_until=now + lease)
                .execution_options(synchronize_session=False)
            )

    def complete(self, key: str, ok: bool, now: datetime) -> None:
        with self._sessions() as session, session.begin():
            session.execute(
                update(InboxRow)
                .where(InboxRow.key == key)
                .values(state="done" if ok else "failed", finished_at=now, lease_until=None)
                .execution_options(synchronize_session=False)
            )

    def take_due(self, now: datetime, lease: timedelta, limit: int, channels: list[str]) -> list[InboxItem]:
        with self._sessions() as session:
            due = list(
                session.execute(
                    select(InboxRow)
                    .where(InboxRow.state.in_(UNFINISHED), InboxRow.lease_until < now, InboxRow.channel.in_(channels))
                    .order_by(InboxRow.received_at)
                    .limit(limit)
                ).scalars()
            )
        taken = []
        for row in due:
            with self._sessions() as session, session.begin():
                won = session.execute(
                    update(InboxRow)
                    .where(InboxRow.key == row.key, InboxRow.attempts == row.attempts, InboxRow.state == row.state)
                    .values(lease_until=now + lease, attempts=row.attempts + 1)
                    .execution_options(synchronize_session=False)
                ).rowcount  # type: ignore[attr-defined]
            if won == 1:
                taken.append(
                    InboxItem(
                        key=row.key,
                        channel=row.channel,
                        kind=row.kind,
                        payload=dict(row.payload),
                        state=row.state,
                        attempts=row.attempts + 1,
                        reply=dict(row.reply) if row.reply else None,
                    )
                )
        return taken

    def ping(self) -> None:
        with self._sessions() as session:
            session.execute(text("SELECT 1"))
