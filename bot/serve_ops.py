"""What `deskhand serve` adds for operations: the job queue, metrics wrappers, /metrics, readiness, middleware."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from bot.instrument import InstrumentedCoordinator, InstrumentedHandler, add_sampled_gauges
from bot.jobs import JobQueue, build_registry
from bot.jobs_approvals import SchedulingFanout
from bot.metrics import Metrics
from bot.observability import build_observability_middleware, metrics_route
from bot.queue import InProcessQueue, ProcrastinateQueue, build_procrastinate_app, is_postgres, schema_present
from bot.readiness import build_checks
from bot.settings import Settings, SettingsError
from bot.worker import build_job_context, reminder_before, schedule_of


@dataclass
class Operations:
    queue: JobQueue
    metrics: Metrics | None
    handler: Any  # the agent as the channels should see it (instrumented when metrics are on)
    coordinator: Any
    attach: list[Any] = field(default_factory=list)
    ready: list[Any] = field(default_factory=list)
    middlewares: list[Any] = field(default_factory=list)


@asynccontextmanager
async def open_operations(
    settings: Settings, rt: Any, coordinator: Any, metrics: Metrics | None
) -> AsyncIterator[Operations]:
    """PostgreSQL: enqueue into procrastinate (the worker runs the jobs). SQLite: run them in this process."""
    url = settings.resolved_database_url
    in_process: InProcessQueue | None = None
    app: Any = None
    queue: JobQueue
    if is_postgres(url):
        app = build_procrastinate_app(url)
        await app.open_async()
        if not await schema_present(app):
            await app.close_async()
            raise SettingsError("the job queue's tables are missing: run `deskhand db upgrade`")
        queue = ProcrastinateQueue(app)
    else:
        queue = in_process = InProcessQueue(build_registry(schedule_of(settings)))
        in_process.start(build_job_context(settings, rt, queue, metrics))
    rt.agent.fanout = SchedulingFanout(rt.fanout, queue, reminder_before(settings))
    ops = Operations(
        queue=queue,
        metrics=metrics,
        handler=InstrumentedHandler(rt.agent, metrics) if metrics else rt.agent,
        coordinator=InstrumentedCoordinator(coordinator, metrics) if metrics else coordinator,
        ready=build_checks(
            engine=rt.engine, coordinator=coordinator, index_dir=settings.resolved_index_dir, queue=queue
        ),
        middlewares=[build_observability_middleware(metrics)],
    )
    if metrics is not None:
        add_sampled_gauges(metrics, rt.approvals._sessions, queue)
        ops.attach.append(metrics_route(metrics))
    try:
        yield ops
    finally:
        if in_process is not None:
            await in_process.stop()
        if app is not None:
            await app.close_async()
