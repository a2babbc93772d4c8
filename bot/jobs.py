"""The background-job registry: every job the worker runs, its schedule, and the keys that make re-runs no-ops.

A job is `async def job(ctx: JobContext, **kwargs) -> None`, registered once in `build_registry`. The same
functions run on procrastinate (`deskhand worker`, PostgreSQL) and on the in-process runner (embedded
SQLite default), so behaviour never depends on the deployment.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import DateTime, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from bot.metrics import Metrics
from channels.context import current_request_id
from tools.storage.db import Base

log = logging.getLogger(__name__)
Job = Callable[..., Awaitable[None]]


class JobRunRow(Base):
    __tablename__ = "job_runs"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    job: Mapped[str] = mapped_column(String(64))
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    request_id: Mapped[str | None] = mapped_column(String(64))


class JobKeys:
    """Keys of finished work in the SQL database: `done` before acting, `finish` after; a re-run skips."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    async def done(self, key: str) -> bool:
        def read() -> bool:
            with self._sessions() as session:
                return session.get(JobRunRow, key) is not None

        return await asyncio.to_thread(read)

    async def finish(self, key: str, job: str) -> bool:
        """Record `key` as finished; false when another run recorded it first."""

        def write() -> bool:
            row = JobRunRow(key=key[:200], job=job, finished_at=datetime.now(UTC), request_id=current_request_id())
            try:
                with self._sessions() as session, session.begin():
                    session.add(row)
            except IntegrityError:
                return False
            return True

        return await asyncio.to_thread(write)

    async def release(self, key: str) -> None:
        """Forget `key` (the work it claimed failed: a later run may do it)."""

        def write() -> None:
            with self._sessions() as session, session.begin():
                row = session.get(JobRunRow, key[:200])
                if row is not None:
                    session.delete(row)

        await asyncio.to_thread(write)

    async def count(self, prefix: str) -> int:
        def read() -> int:
            with self._sessions() as session:
                return len(session.execute(select(JobRunRow.key).where(JobRunRow.key.startswith(prefix))).all())

        return await asyncio.to_thread(read)


class JobQueue(Protocol):
    """Where web processes put work for later; implemented over procrastinate and in-process."""

    async def enqueue(self, job: str, *, key: str | None = None, at: datetime | None = None, **kwargs: Any) -> None:
        """Run `job(**kwargs)` at `at` (now when None); a second enqueue with the same pending `key` is dropped."""
        ...

    async def depth(self) -> int:
        """Jobs due now and not started."""
        ...

    async def ping(self) -> None: ...


@dataclass
class JobContext:
    """What jobs may use: plain values and the runtime's parts (no settings object)."""

    agent: Any  # graphs.agent.Agent
    approvals: Any  # graphs.governance.approvals.ApprovalStore
    audit: Any  # graphs.governance.audit.AuditLog
    directory: Any  # tools.directory.Directory
    keys: JobKeys
    queue: JobQueue
    metrics: Metrics | None = None
    reminder_before: timedelta | None = None
    escalation_group: str | None = None
    index_sources: list[Path] = field(default_factory=list)
    index_dir: Path | None = None
    source_urls: dict[str, str] = field(default_factory=dict)  # DESKHAND_SOURCE_URLS, as `index build` uses it
    embedder: Any = None
    contacts: dict[str, str] = field(default_factory=dict)
    recovery_grace: timedelta = timedelta(seconds=30)
    recovery_lease: timedelta = timedelta(minutes=5)
    anchor_file: Path | None = None
    fanout: Any = None  # bot.fanout.ChannelFanout: the channels' outboxes (publication redraws cards)
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)


@dataclass(frozen=True)
class JobSpec:
    name: str
    run: Job
    cron: str | None = None  # periodic: a cron line; a 6th column is seconds


@dataclass(frozen=True)
class Schedule:
    """The plain values from settings that decide which periodic jobs exist."""

    sweep_seconds: int = 10
    index_build_cron: str | None = None


def every(seconds: int) -> str:
    return f"* * * * * */{seconds}"


async def build_index(ctx: JobContext, timestamp: int | None = None, **_: Any) -> None:
    """Scheduled `index build` of the configured sources (incremental; published atomically)."""
    key = f"index:{timestamp}" if timestamp else None
    if key and await ctx.keys.done(key):
        return
    if ctx.index_dir is None or ctx.embedder is None:
        log.warning("scheduled index build skipped: no index directory or embedder")
        return
    from knowledge.index import build_index as build

    report = await asyncio.to_thread(
        build, list(ctx.index_sources), ctx.index_dir, ctx.embedder, progress=False, source_urls=ctx.source_urls
    )
    log.info("scheduled index build published version %s (%d embedded)", report.version, report.embedded)
    if key:
        await ctx.keys.finish(key, "build_index")


async def recover_approvals(ctx: JobContext, **_: Any) -> None:
    """Re-drive approvals a crash left `approved` or stale `executing` (graphs/recovery.py; idempotent
    under each approval's key)."""
    from graphs.recovery import recover_approvals as recover

    await recover(ctx.agent, grace=ctx.recovery_grace, lease=ctx.recovery_lease)


async def anchor_audit(ctx: JobContext, **_: Any) -> None:
    """Copy the audit chain's head outside the database, so a truncation is detectable."""
    from graphs.governance.audit_anchor import write_anchor

    if ctx.anchor_file is not None:
        await asyncio.to_thread(write_anchor, ctx.audit, ctx.anchor_file)


def build_registry(schedule: Schedule) -> dict[str, JobSpec]:
    """Every job by name. Add a job here with one line; periodic ones get a cron line."""
    from bot import jobs_approvals as ap
    from bot import jobs_publish as pub

    sweep = every(schedule.sweep_seconds)
    specs = [
        JobSpec("expire_approvals", ap.expire_approvals, cron=sweep),
        JobSpec("remind_approvers", ap.remind_approvers, cron=sweep),
        JobSpec("escalate_approval", ap.escalate_approval),
        JobSpec("build_index", build_index, cron=schedule.index_build_cron),
        JobSpec("recover_approvals", recover_approvals, cron=sweep),
        JobSpec("anchor_audit", anchor_audit, cron=every(60)),
        JobSpec("publish_decisions", pub.publish_decisions, cron=sweep),
        JobSpec("publish_decision", pub.publish_decision),
    ]
    return {s.name: s for s in specs}
