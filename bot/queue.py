"""The job queue: procrastinate over PostgreSQL (durable rows next to the approvals) or an in-process runner.

procrastinate because it needs nothing the deployment doesn't already have (jobs are rows in the same
PostgreSQL as approvals and the audit log), is async, and has scheduled jobs, periodic (cron) jobs,
queueing locks, retries and stalled-worker detection; Redis stays what it is here: coordination only.
The in-process runner executes the same job functions in `deskhand serve` for the embedded SQLite default.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from croniter import croniter

from bot.jobs import JobContext, JobSpec
from channels.context import current_request_id, request_scope
from tools.tracing import span

log = logging.getLogger(__name__)
SCHEMA_TABLE = "procrastinate_jobs"


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql", "postgres"))


async def run_job(spec: JobSpec, ctx: JobContext, kwargs: Mapping[str, Any], due: datetime | None = None) -> None:
    """Run one job under its request id, timed and counted; exceptions propagate (the queue retries)."""
    args = dict(kwargs)
    rid = args.pop("request_id", None) or None
    with request_scope(rid), span(f"job {spec.name}", "consumer", job=spec.name):
        started, outcome = time.perf_counter(), "failed"
        if ctx.metrics is not None and due is not None:
            lateness = max(0.0, (datetime.now(UTC) - due).total_seconds())
            ctx.metrics.observe(ctx.metrics.job_lateness, lateness, job=spec.name)
        try:
            await spec.run(ctx, **args)
            outcome = "ok"
        except Exception:
            log.exception("job %s failed", spec.name)
            raise
        finally:
            if ctx.metrics is not None:
                ctx.metrics.jobs.labels(job=spec.name, outcome=outcome).inc()
                ctx.metrics.observe(ctx.metrics.job_seconds, time.perf_counter() - started, job=spec.name)


class InProcessQueue:
    """Runs jobs inside this process: enqueued ones at their time, periodic ones on their cron line.
    Not durable on its own; the periodic sweeps find overdue work again after a restart."""

    def __init__(self, registry: dict[str, JobSpec]) -> None:
        self.registry = registry
        self.ctx: JobContext | None = None
        self._pending: dict[str, asyncio.TimerHandle] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._seq = 0

    async def enqueue(self, job: str, *, key: str | None = None, at: datetime | None = None, **kwargs: Any) -> None:
        if job not in self.registry:
            raise KeyError(f"unknown job {job!r}")
        self._seq += 1
        slot = key or f"_{self._seq}"
        if slot in self._pending:
            return
        kwargs.setdefault("request_id", current_request_id())
        delay = max(0.0, (at - datetime.now(UTC)).total_seconds()) if at else 0.0
        loop = asyncio.get_running_loop()
        self._pending[slot] = loop.call_later(delay, self._start, job, slot, kwargs, at)

    def _start(self, job: str, slot: str, kwargs: dict[str, Any], due: datetime | None) -> None:
        self._pending.pop(slot, None)
        self._spawn(self._locked(slot, self.registry[job], kwargs, due))

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _locked(self, slot: str, spec: JobSpec, kwargs: dict[str, Any], due: datetime | None) -> None:
        lock = self._locks.setdefault(slot, asyncio.Lock())
        try:
            async with lock:
                assert self.ctx is not None, "bind a JobContext before starting the queue"
                await run_job(spec, self.ctx, kwargs, due)
        except Exception:
            return  # already logged by run_job; the periodic sweep tries again
        finally:
            if not lock.locked() and not getattr(lock, "_waiters", None):
                self._locks.pop(slot, None)

    async def _periodic(self, spec: JobSpec) -> None:
        assert spec.cron is not None
        schedule = croniter(spec.cron, datetime.now(UTC))
        while True:
            due = schedule.get_next(datetime)
            await asyncio.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()))
            await self._locked(f"periodic:{spec.name}", spec, {"timestamp": int(due.timestamp())}, due)

    def start(self, ctx: JobContext) -> None:
        self.ctx = ctx
        for spec in self.registry.values():
            if spec.cron:
                self._spawn(self._periodic(spec))

    async def stop(self) -> None:
        for handle in self._pending.values():
            handle.cancel()
        self._pending.clear()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def depth(self) -> int:
        now = asyncio.get_running_loop().time()
        return sum(1 for h in self._pending.values() if h.when() <= now)

    async def ping(self) -> None:
        return None


class ProcrastinateQueue:
    """Enqueue into procrastinate; `key` is both the queueing lock (one pending job per key) and the lock
    (jobs with one key never run at the same time)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def enqueue(self, job: str, *, key: str | None = None, at: datetime | None = None, **kwargs: Any) -> None:
        from procrastinate.exceptions import AlreadyEnqueued

        kwargs.setdefault("request_id", current_request_id())
        deferrer = self.app.configure_task(name=job, queueing_lock=key, lock=key, schedule_at=at)
        try:
            await deferrer.defer_async(**kwargs)
        except AlreadyEnqueued:
            log.debug("job %s with key %s is already queued", job, key)

    async def depth(self) -> int:
        row = await self.app.connector.execute_query_one_async(
            "SELECT count(*) AS n FROM procrastinate_jobs WHERE status = 'todo' "
            "AND (scheduled_at IS NULL OR scheduled_at <= now())"
        )
        return int(row["n"])

    async def ping(self) -> None:
        if not await self.app.check_connection_async():
            raise ConnectionError("the job queue's tables are not reachable")


def build_procrastinate_app(database_url: str, max_pool: int = 4) -> Any:
    """A procrastinate App on `database_url` (not opened); tasks are registered by the worker only."""
    import procrastinate

    conninfo = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    connector = procrastinate.PsycopgConnector(conninfo=conninfo, min_size=1, max_size=max_pool, timeout=10)
    return procrastinate.App(connector=connector)


async def schema_present(app: Any) -> bool:
    row = await app.connector.execute_query_one_async(f"SELECT to_regclass('{SCHEMA_TABLE}') IS NOT NULL AS present")
    return bool(row["present"])
