"""The publication jobs: deliver to the chat channels the decisions `deskhand approvals decide` recorded
(bot.publications). `publish_decisions` is the periodic sweep: it notes that this process publishes (and to
which channels), and enqueues `publish_decision` for each debt that is due. `publish_decision` tells the
requester and everyone who joined, in their own conversation, once each (claimed keys, bot.jobs_approvals
.tell_requesters), and redraws every approval card recorded in a chat channel, once per card and version.
Whatever failed is retried with exponential back-off; the debt is settled only once everything arrived."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import socket
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update

from bot.jobs import JobContext
from bot.jobs_approvals import tell_requesters
from bot.publications import LOCAL, PublicationRow, PublisherRow, notice_reply
from channels.base import MessageRef, Reply
from graphs import messages as msg
from graphs.approval_notes import decision_note
from graphs.governance.audit import as_utc, canonical_json

log = logging.getLogger(__name__)

SETTLING = timedelta(seconds=5)  # the deciding process is still running the approved action
NOTICE_GRACE = timedelta(seconds=60)  # for the deciding process to keep its notice after the action ran
FIRST_RETRY, LAST_RETRY = timedelta(seconds=5), timedelta(minutes=10)
GIVE_UP_AFTER = timedelta(days=1)
BATCH = 200
PUBLISHER = f"{socket.gethostname()}:{os.getpid()}"[:200]


async def publish_decisions(ctx: JobContext, **_: Any) -> None:
    """The sweep: record this publisher (and the channels it reaches), enqueue each due publication under
    its key (one pending, never two at once)."""
    now = ctx.clock()
    due = await asyncio.to_thread(_heartbeat_and_due, ctx, now)
    for found in due:
        await ctx.queue.enqueue("publish_decision", key=f"publish:{found}", approval_id=found)


def _channels(ctx: JobContext) -> list[str]:
    outboxes = getattr(ctx.fanout, "outboxes", {})
    return sorted(name for name in outboxes if name != LOCAL)


def _heartbeat_and_due(ctx: JobContext, now: datetime) -> list[str]:
    with ctx.approvals.sessions() as session, session.begin():
        row = session.get(PublisherRow, PUBLISHER)
        if row is None:
            session.add(PublisherRow(name=PUBLISHER, seen_at=now, channels=_channels(ctx)))
        else:
            row.seen_at, row.channels = now, _channels(ctx)
        session.execute(delete(PublisherRow).where(PublisherRow.seen_at < now - timedelta(days=1)))
    with ctx.approvals.sessions() as session:
        query = (
            select(PublicationRow.approval_id)
            .where(PublicationRow.published_at.is_(None), PublicationRow.next_at <= now)
            .order_by(PublicationRow.next_at)
            .limit(BATCH)
        )
        return list(session.execute(query).scalars())


async def publish_decision(ctx: JobContext, approval_id: str, **_: Any) -> None:
    """Publish one decision if it is owed and due; never raises for a channel's failure (it is retried)."""
    row = await asyncio.to_thread(_row, ctx, approval_id)
    now = ctx.clock()
    if row is None or row.published_at is not None or row.next_at is None or as_utc(row.next_at) > now:
        return
    approval = await asyncio.to_thread(ctx.approvals.get, approval_id)
    if approval is None:
        return
    if approval.status in ("approved", "executing"):  # its action is running (or recovery will run it)
        await _settle_later(ctx, approval_id, now + SETTLING)
        return
    notice = _notice(approval, row.notice)
    if notice is None and approval.status in ("executed", "failed") and not _recovered(ctx, approval):
        if now < as_utc(approval.executed_at or now) + NOTICE_GRACE:
            await _settle_later(ctx, approval_id, now + SETTLING)  # the deciding process is about to keep it
            return
        notice = _fallback(approval)  # it died between the action and keeping its notice
    errors = await _redraw(ctx, approval)
    if notice is not None:
        errors += await _tell(ctx, approval, notice)
    await asyncio.to_thread(_record, ctx, row, now, errors)


def _row(ctx: JobContext, approval_id: str) -> PublicationRow | None:
    with ctx.approvals.sessions() as session:
        row = session.get(PublicationRow, approval_id)
        if row is not None:
            session.expunge(row)
        return row


async def _settle_later(ctx: JobContext, approval_id: str, at: datetime) -> None:
    def write() -> None:
        with ctx.approvals.sessions() as session, session.begin():
            where = (PublicationRow.approval_id == approval_id, PublicationRow.published_at.is_(None))
            session.execute(update(PublicationRow).where(*where).values(next_at=at))

    await asyncio.to_thread(write)


def _notice(approval: Any, kept: dict[str, Any] | None) -> Reply | None:
    """What the requester hears: the deciding process's own words when it kept them; a rejection or an
    expiry reads the same from the record; a partial approval (one of four eyes) only redraws the cards."""
    if approval.status == "rejected":
        who = approval.rejected_by[-1] if approval.rejected_by else "an approver"
        text = msg.APPROVAL_REJECTED.format(title=approval.title, who=who) + decision_note(approval, who)
        return notice_reply(kept) if kept else Reply(text=text, route="approval")
    if approval.status == "expired":
        return Reply(text=msg.APPROVAL_EXPIRED.format(title=approval.title), route="approval")
    if approval.status in ("executed", "failed") and kept:
        return notice_reply(kept)
    return None


def _recovered(ctx: JobContext, approval: Any) -> bool:
    """Whether crash recovery (graphs.recovery) ran or abandoned the action, and so told the requester
    itself: it takes only approvals decided at least its grace ago, the deciding process at once."""
    if approval.claimed_at is None or approval.decided_at is None:
        return approval.status == "failed"  # abandoned without a claim: only recovery does that
    return bool(as_utc(approval.claimed_at) >= as_utc(approval.decided_at) + ctx.recovery_grace)


def _fallback(approval: Any) -> Reply:
    approvers = approval.approved_by or ("an approver",)
    notes = "".join(decision_note(approval, a) for a in approval.approved_by)
    done = "It has been carried out." if approval.status == "executed" else "Carrying it out failed."
    return Reply(text=f"Approved by {' and '.join(approvers)}.{notes} {done}", route="approval")


async def _tell(ctx: JobContext, approval: Any, notice: Reply) -> list[str]:
    people = await asyncio.to_thread(_people_channels, ctx, approval)
    missing = sorted(set(people) - set(_channels(ctx)))
    if missing:  # nothing is claimed for a channel this process cannot reach
        return [f"no {c} channel configured in this process" for c in missing]
    reached = await tell_requesters(ctx, approval, notice, f"decided-{approval.status}", skip=(LOCAL,))
    return [] if reached else ["a requester could not be told"]


def _people_channels(ctx: JobContext, approval: Any) -> list[str]:
    from graphs.governance.approval_joins import ApprovalJoins

    channels = {approval.channel, *(w.channel for w in ApprovalJoins(ctx.approvals).waiters(approval.id))}
    return sorted(channels - {LOCAL})


async def _redraw(ctx: JobContext, approval: Any) -> list[str]:
    """Redraw each chat card of the approval once for this version (a claimed key, released on failure)."""
    refs = await asyncio.to_thread(ctx.approvals.message_refs, approval.id)
    view = ctx.agent.view(approval)
    errors: list[str] = []
    for channel, data in refs:
        if channel == LOCAL:
            continue
        outbox = getattr(ctx.fanout, "outboxes", {}).get(channel)
        if outbox is None:
            errors.append(f"no {channel} channel configured in this process")
            continue
        digest = hashlib.sha256(canonical_json({"c": channel, "r": data}).encode()).hexdigest()[:16]
        key = f"drawn:{approval.id}:{approval.version}:{digest}"
        if not await ctx.keys.finish(key, "publish_decision"):
            continue  # redrawn already
        try:
            await outbox.refresh_approval(MessageRef(channel=channel, data=data), view)
        except Exception as exc:
            log.warning("approval %s: redrawing a %s card failed (%s); will retry", approval.id, channel, exc)
            await ctx.keys.release(key)
            errors.append(f"{channel} card: {type(exc).__name__}: {exc}"[:300])
    return errors


def _record(ctx: JobContext, row: PublicationRow, now: datetime, errors: list[str]) -> None:
    """Settle the debt, or retry with exponential back-off (given up, loudly, after a day of failures)."""
    values: dict[str, Any]
    if not errors:
        values = {"published_at": now, "next_at": None, "last_error": None}
    elif now - as_utc(row.owed_at) > GIVE_UP_AFTER:
        log.error("approval %s: publication given up after a day of failures: %s", row.approval_id, errors[0])
        values = {"next_at": None, "last_error": "; ".join(errors)[:2000], "attempts": row.attempts + 1}
    else:
        wait = min(LAST_RETRY, FIRST_RETRY * 2**row.attempts)
        log.warning("approval %s: publication retried in %s: %s", row.approval_id, wait, errors[0])
        values = {"next_at": now + wait, "last_error": "; ".join(errors)[:2000], "attempts": row.attempts + 1}
    with ctx.approvals.sessions() as session, session.begin():
        # only the debt this run read: a newer decision renewed it (owed_at) and is published on its own
        where = (PublicationRow.approval_id == row.approval_id, PublicationRow.owed_at == row.owed_at)
        session.execute(update(PublicationRow).where(*where).values(**values))
