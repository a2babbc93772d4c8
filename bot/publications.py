"""Publishing decisions taken outside the chat channels: `deskhand approvals decide` tells the terminal inbox
itself, and owes the chat channels (the requester and whoever joined, in Slack or Teams; every approval card
recorded there) a publication that the worker (or `deskhand serve` with the embedded database) delivers.

The debt commits in the decision's own transaction (the store's `on_change` hook), so a decision recorded
and never published is impossible: a crash after the commit leaves the row, and the worker's sweep finds it
(bot.jobs_publish). Decisions taken with the chat buttons publish themselves and owe nothing here.

This module is the command line's half: SQLAlchemy only, no channel SDK.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from channels.base import ApprovalView, MessageRef, Reply
from tools.storage.db import Base

LOCAL = "local"  # the terminal inbox: the command line writes it itself


class PublicationRow(Base):
    __tablename__ = "approval_publications"

    approval_id: Mapped[str] = mapped_column(ForeignKey("approvals.id", ondelete="CASCADE"), primary_key=True)
    owed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    notice: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # what the deciding process told the terminal
    attempts: Mapped[int] = mapped_column(Integer)
    next_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)


class PublisherRow(Base):
    """A process that ran the publication sweep, when, and which chat channels it reaches."""

    __tablename__ = "publishers"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    channels: Mapped[list[str]] = mapped_column(JSON)


def owes(kind: str, payload: Mapping[str, Any]) -> bool:
    """Whether an audited change is a decision others must hear of: an accepted decision (approve, reject,
    one of four eyes) or an expiry."""
    return kind == "approval_decision" and (payload.get("accepted") is True or payload.get("became") == "expired")


def owe_publication(session: Session, kind: str, payload: Mapping[str, Any]) -> None:
    """The store's `on_change` hook: record (or renew) the approval's publication in the change's transaction."""
    if not owes(kind, payload):
        return
    from graphs.governance.approval_reads import utc_or_now

    now = utc_or_now(None)
    row = session.get(PublicationRow, str(payload["approval_id"]))
    if row is None:
        session.add(PublicationRow(approval_id=str(payload["approval_id"]), owed_at=now, attempts=0, next_at=now))
        return
    row.owed_at, row.next_at, row.published_at = now, now, None
    row.notice, row.attempts, row.last_error = None, 0, None


def publishing(decisions: Any) -> NoticeCapture:
    """Make `decisions` (graphs.deciding.Decisions of the command line) owe its decisions' publication and
    remember what it tells the terminal; returns the capture (`note` says what the chat channels will get)."""
    store = decisions.deps.approvals
    store.on_change = owe_publication
    capture = NoticeCapture(decisions.fanout, store)
    decisions.fanout = capture
    return capture


class NoticeCapture:
    """The command line's fanout, passed through: remembers the last notice sent to each conversation (what
    the requester was told, worded by the shared decision logic) so the worker says the same in the chat."""

    def __init__(self, inner: Any, store: Any) -> None:
        self.inner, self.store = inner, store
        self.notices: dict[tuple[str, str], Reply] = {}

    async def refresh(self, view: ApprovalView, refs: list[MessageRef]) -> None:
        await self.inner.refresh(view, refs)

    async def offer(self, view: ApprovalView, origin: str) -> None:
        await self.inner.offer(view, origin)

    async def notify(self, channel: str, conversation_ref: dict[str, Any], reply: Reply) -> None:
        self.notices[(channel, _ref_key(conversation_ref))] = reply
        await self.inner.notify(channel, conversation_ref, reply)

    def note(self, approval_id: str, sweep_seconds: int) -> str | None:
        """After a decision (blocking): keep the requester's notice with the approval's unpublished debt,
        and say what happens in the chat channels; None when nothing is owed there."""
        approval = self.store.get(approval_id)
        with self.store.sessions() as session:
            row = session.get(PublicationRow, approval_id)
            owed = row is not None and row.published_at is None
        if approval is None or not owed:
            return None
        audience = chat_audience(self.store, approval)
        if not audience:
            return None  # the terminal inbox was all there was to tell
        told = self.notices.get((approval.channel, _ref_key(approval.conversation_ref)))
        if told is not None and approval.status in ("rejected", "executed", "failed"):
            save_notice(self.store.sessions, approval_id, told)
        now = datetime.now(UTC)
        return describe(
            audience, live_publishers(self.store.sessions, now, timedelta(seconds=3 * sweep_seconds)), sweep_seconds
        )


def _ref_key(ref: Mapping[str, Any]) -> str:
    from graphs.governance.audit import canonical_json, jsonable

    return canonical_json(jsonable(ref))


def save_notice(sessions: Any, approval_id: str, reply: Reply) -> None:
    """Keep the requester's notice with the unpublished debt (the worker tells the chat the same words)."""
    data = {k: v for k, v in asdict(reply).items() if k in ("text", "route", "tool", "sensitive", "audit_id", "data")}
    from graphs.governance.audit import jsonable

    with sessions() as session, session.begin():
        where = (PublicationRow.approval_id == approval_id, PublicationRow.published_at.is_(None))
        session.execute(update(PublicationRow).where(*where).values(notice=jsonable(data)))


def notice_reply(data: Mapping[str, Any]) -> Reply:
    return Reply(
        text=str(data.get("text") or ""),
        route=data.get("route") or "approval",
        tool=data.get("tool"),
        sensitive=bool(data.get("sensitive")),
        audit_id=data.get("audit_id"),
        data=dict(data.get("data") or {}),
    )


def chat_audience(store: Any, approval: Any) -> list[str]:
    """The chat channels (not the terminal) holding the approval's requester, who joined it, or its cards."""
    from graphs.governance.approval_joins import ApprovalJoins

    channels = {approval.channel, *(w.channel for w in ApprovalJoins(store).waiters(approval.id))}
    channels |= {c for c, _ref in store.message_refs(approval.id)}
    return sorted(channels - {LOCAL})


def live_publishers(sessions: Any, now: datetime, within: timedelta) -> set[str]:
    """The chat channels reached by a process that ran the publication sweep since `now - within`."""
    with sessions() as session:
        rows = session.execute(select(PublisherRow.channels).where(PublisherRow.seen_at >= now - within))
        return {c for channels in rows.scalars() for c in channels}


def describe(audience: list[str], reached: set[str], sweep_seconds: int) -> str:
    """What the command line says about the chat channels: true whether or not a worker is running."""
    names = " and ".join(c.capitalize() for c in audience)
    if set(audience) <= reached:
        return (
            f"{names}: queued; a running worker tells the requester and updates the approval's messages there "
            f"within about {sweep_seconds} s."
        )
    return (
        f"{names}: queued, not yet delivered: no worker reaching {names} has run in the last "
        f"{3 * sweep_seconds} s. The requester will be told, and the approval's messages updated, when "
        "`deskhand worker` (PostgreSQL) or `deskhand serve` (embedded database) runs with "
        f"{names} configured."
    )
