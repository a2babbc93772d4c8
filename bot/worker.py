"""`deskhand worker`: runs every job the web processes enqueue (and the periodic sweeps) on procrastinate."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from aiohttp import web

from bot.channel_builders import slack_from_settings, teams_from_settings
from bot.jobs import JobContext, JobKeys, JobSpec, Schedule, build_registry, every
from bot.metrics import Metrics
from bot.queue import ProcrastinateQueue, build_procrastinate_app, is_postgres, run_job, schema_present
from bot.settings import Settings

log = logging.getLogger(__name__)
Closer = Callable[[], Awaitable[None]]
RETRY_ATTEMPTS = 5


def schedule_of(settings: Settings) -> Schedule:
    return Schedule(sweep_seconds=settings.job_sweep_seconds, index_build_cron=settings.index_build_cron)


def reminder_before(settings: Settings) -> timedelta | None:
    return timedelta(minutes=settings.reminder_before_minutes) if settings.reminder_before_minutes else None


def build_job_context(settings: Settings, rt: Any, queue: Any, metrics: Metrics | None) -> JobContext:
    from bot.wiring import load_contacts

    return JobContext(
        agent=rt.agent,
        approvals=rt.approvals,
        audit=rt.audit,
        directory=rt.directory,
        keys=JobKeys(rt.approvals._sessions),
        queue=queue,
        metrics=metrics,
        reminder_before=reminder_before(settings),
        escalation_group=settings.escalation_group,
        index_sources=list(settings.knowledge_dir),
        index_dir=settings.resolved_index_dir,
        source_urls=dict(settings.source_urls),
        embedder=rt.models.embedder,
        contacts=load_contacts(settings.contacts_file).contact_lines(),
        recovery_grace=timedelta(seconds=settings.recovery_grace_seconds),
        recovery_lease=timedelta(seconds=settings.recovery_lease_seconds),
        anchor_file=settings.resolved_audit_anchor_file,
        fanout=rt.fanout,
        clock=rt.deps.clock,
    )


async def attach_outboxes(settings: Settings, rt: Any, coordinator: Any) -> list[Closer]:
    """The channels' output halves (no HTTP routes): jobs refresh cards and tell people through them."""
    closers: list[Closer] = []
    if settings.slack.enabled:
        slack = slack_from_settings(settings, rt.agent, coordinator)
        await slack.start()
        rt.fanout.outboxes["slack"] = slack.outbox
        closers.append(slack.close)
    if settings.teams.enabled:
        teams = teams_from_settings(settings, rt.agent, coordinator)
        rt.fanout.outboxes["teams"] = teams.outbox
        closers.append(teams.close)  # no web app closes its HTTP session here
    return closers


def register_tasks(app: Any, registry: dict[str, JobSpec], ctx: JobContext, heartbeat_s: float) -> None:
    """Each registry job becomes a procrastinate task (periodic ones get their cron line), plus the
    retry of jobs whose worker died (no heartbeat for 3 intervals)."""
    import procrastinate

    retry = procrastinate.RetryStrategy(max_attempts=RETRY_ATTEMPTS, exponential_wait=2)

    def task_for(spec: JobSpec) -> Any:
        async def task(context: Any, **kwargs: Any) -> None:
            scheduled = context.job.scheduled_at
            await run_job(spec, ctx, kwargs, due=scheduled)

        return app.task(name=spec.name, pass_context=True, retry=retry)(task)

    for spec in registry.values():
        registered = task_for(spec)
        if spec.cron:
            app.periodic(cron=spec.cron, periodic_id=spec.name)(registered)

    stalled_after = 3 * heartbeat_s

    async def retry_stalled_jobs(timestamp: int) -> None:
        for job in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after):
            log.warning("retrying job %s (%s): its worker stopped sending heartbeats", job.id, job.task_name)
            await app.job_manager.retry_job(job)

    cron = every(max(1, min(59, int(heartbeat_s))))
    app.periodic(cron=cron, periodic_id="retry_stalled")(app.task(name="retry_stalled_jobs")(retry_stalled_jobs))


async def _serve_health(port: int, metrics: Metrics, checks: list[Any]) -> web.AppRunner:
    """/healthz, /readyz and /metrics of the worker, for the orchestrator and Prometheus."""
    from bot.observability import build_observability_middleware, metrics_route
    from bot.server import build_web_app

    app = build_web_app(
        attach=[metrics_route(metrics)], ready=checks, middlewares=[build_observability_middleware(None)]
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "0.0.0.0", port).start()
    return runner


async def run_worker(settings: Settings, port: int | None) -> int:
    from bot.instrument import add_sampled_gauges
    from bot.observability import configure_logging
    from bot.readiness import build_checks
    from bot.wiring import init_sentry, open_runtime
    from channels.coordination import CoordinationUnavailable, build_coordinator

    configure_logging(settings.log_level, settings.log_format)
    init_sentry(settings)
    url = settings.resolved_database_url
    if not is_postgres(url):
        print(
            "deskhand: the worker needs PostgreSQL (DATABASE_URL). With the embedded SQLite default, "
            "`deskhand serve` runs the same jobs in-process.",
            file=sys.stderr,
        )
        return 2
    try:
        coordinator = build_coordinator(settings.redis_url)
        await coordinator.ping()
    except CoordinationUnavailable as exc:
        print(f"deskhand: {exc}", file=sys.stderr)
        return 2
    metrics = Metrics()
    app = build_procrastinate_app(url, max_pool=settings.worker_concurrency + 2)
    async with app.open_async():
        if not await schema_present(app):
            print("deskhand: the job queue's tables are missing: run `deskhand db upgrade`", file=sys.stderr)
            return 2
        async with open_runtime(settings, metrics=metrics) as rt:
            closers = await attach_outboxes(settings, rt, coordinator)
            queue = ProcrastinateQueue(app)
            ctx = build_job_context(settings, rt, queue, metrics)
            heartbeat = settings.worker_heartbeat_seconds
            register_tasks(app, build_registry(schedule_of(settings)), ctx, heartbeat)
            add_sampled_gauges(metrics, rt.approvals._sessions, queue)
            checks = build_checks(
                engine=rt.engine, coordinator=coordinator, index_dir=settings.resolved_index_dir, queue=queue
            )
            health = await _serve_health(port, metrics, checks) if port else None
            print("Deskhand worker started", flush=True)
            try:
                await app.run_worker_async(
                    name="deskhand",
                    concurrency=settings.worker_concurrency,
                    fetch_job_polling_interval=1.0,  # scheduled jobs (expiry, reminders) start within ~1 s
                    update_heartbeat_interval=heartbeat,
                    stalled_worker_timeout=3 * heartbeat,
                    delete_jobs="successful",
                    install_signal_handlers=True,
                )
            finally:
                for close in closers:
                    await close()
                if health is not None:
                    await health.cleanup()
                await coordinator.close()
    return 0


def register(sub: Any, settings_fn: Callable[[argparse.Namespace], Settings]) -> None:
    p = sub.add_parser(
        "worker",
        help="run background jobs: approval expiry, reminders, escalation, publishing command-line decisions to "
        "Slack and Teams, scheduled index builds",
        description="Run the job worker on procrastinate (needs PostgreSQL; run `deskhand db upgrade` first). "
        "Jobs survive restarts: a job whose worker died is retried after 3 missed heartbeats "
        "(DESKHAND_WORKER_HEARTBEAT_SECONDS). With the embedded SQLite default, `deskhand serve` runs "
        "the same jobs in-process and no worker is needed.",
    )
    p.add_argument("--port", type=int, default=None, help="serve /healthz, /readyz and /metrics on this port")
    p.add_argument("--index", metavar="DIR", help="index directory")

    def run(args: argparse.Namespace) -> int:
        settings = settings_fn(args)
        try:
            return asyncio.run(run_worker(settings, args.port))
        except KeyboardInterrupt:
            return 0

    p.set_defaults(func=run)
