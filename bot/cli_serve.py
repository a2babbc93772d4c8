"""`deskhand serve`: one aiohttp server with the Slack and Teams endpoints, health checks and metrics; with
the embedded SQLite default it also runs the background jobs in-process (else `deskhand worker` does)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import socket
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from aiohttp import web

from bot.settings import Settings

log = logging.getLogger(__name__)


async def _upkeep(inbox: Any, every: float) -> None:
    """Web-process upkeep: finish events a dead process accepted but never answered (replaying them needs
    this process's channels, so it cannot run in the worker). Approval recovery, expiry and the audit
    anchor are jobs (bot/jobs.py)."""
    while True:
        try:
            await inbox.recover()
        except Exception:
            log.exception("finishing unfinished events failed; will retry")
        await asyncio.sleep(every)


async def serve(
    settings: Settings, host: str, port: int, socket_mode: bool, started: Callable[[int], None] | None = None
) -> int:
    if socket_mode and (not settings.slack.enabled or settings.slack.app_token is None):
        print(
            "deskhand: --slack-socket-mode needs SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET and SLACK_APP_TOKEN",
            file=sys.stderr,
        )
        return 2
    from bot.metrics import Metrics
    from bot.observability import configure_logging
    from bot.wiring import init_sentry, open_runtime
    from channels.coordination import CoordinationUnavailable, build_coordinator

    configure_logging(settings.log_level, settings.log_format)
    init_sentry(settings)
    try:
        coordinator = build_coordinator(settings.redis_url)
        await coordinator.ping()
    except CoordinationUnavailable as exc:
        print(f"deskhand: {exc}", file=sys.stderr)
        return 2
    metrics = Metrics() if settings.metrics_enabled else None
    try:
        async with open_runtime(settings, metrics=metrics) as rt:
            return await _serve_with(rt, settings, coordinator, metrics, host, port, socket_mode, started)
    except Exception as exc:
        if not database_down(exc):
            raise
        print(f"deskhand: {database_message(settings)}", file=sys.stderr)
        return 2
    finally:
        await coordinator.close()


async def _serve_with(
    rt: Any,
    settings: Settings,
    coordinator: Any,
    metrics: Any,
    host: str,
    port: int,
    socket_mode: bool,
    started: Callable[[int], None] | None,
) -> int:
    from bot.channel_builders import slack_from_settings, teams_from_settings
    from bot.serve_ops import open_operations
    from bot.server import build_web_app
    from channels.inbox import Inbox
    from tools.inbox_store import SqlInboxStore

    lease = timedelta(seconds=settings.recovery_lease_seconds)
    inbox = Inbox(store=SqlInboxStore(rt.sessions), coordinator=coordinator, lease=lease, fault=rt.deps.fault)
    async with open_operations(settings, rt, coordinator, metrics) as ops:
        attach = list(ops.attach)
        ready: dict[str, Callable[[], Awaitable[None]]] = {c.__name__: c for c in ops.ready}
        ready["directory"] = rt.directory.ping
        closers = []
        if settings.slack.enabled:
            slack = slack_from_settings(settings, ops.handler, ops.coordinator, inbox)
            attach.append(slack.attach)
            ready["slack"] = slack.ready
            rt.fanout.outboxes["slack"] = slack.outbox
            closers.append(slack.close)
            if socket_mode and settings.slack.app_token is not None:  # checked above
                await slack.start_socket_mode(settings.slack.app_token.get_secret_value())
        if settings.teams.enabled:
            from channels.teams import TeamsConfigError

            try:
                teams = teams_from_settings(settings, ops.handler, ops.coordinator, inbox)
            except TeamsConfigError as exc:
                print(f"deskhand: {exc}", file=sys.stderr)
                return 2
            attach.append(teams.attach)
            ready["teams"] = teams.ready
            rt.fanout.outboxes["teams"] = teams.outbox
            closers.append(teams.drain)
        app = build_web_app(attach=attach, ready=ready, middlewares=ops.middlewares)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0][1] if runner.addresses else port
        log.info(
            "Deskhand listening on http://%s:%s (slack=%s, teams=%s)",
            host,
            bound,
            settings.slack.enabled,
            settings.teams.enabled,
        )
        print(f"Deskhand listening on http://{host}:{bound}", flush=True)
        if started:
            started(bound)
        upkeep = asyncio.create_task(_upkeep(inbox, settings.sweep_seconds))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            upkeep.cancel()
            for close in closers:
                await close()
            await runner.cleanup()
    return 0


def database_down(exc: BaseException) -> bool:
    """Whether `exc` (or its cause) says the SQL database can't be reached."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OperationalError | InterfaceError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def database_message(settings: Settings) -> str:
    from channels.coordination import redact_url

    return (
        f"cannot reach the database at {redact_url(settings.resolved_database_url)} (DATABASE_URL). "
        "Start it or fix DATABASE_URL."
    )


def register(sub: Any, settings_fn: Callable[[argparse.Namespace], Settings]) -> None:
    p = sub.add_parser(
        "serve",
        help="run the web server (Slack /slack/events, Teams /api/messages, /healthz, /readyz)",
        description="Start one aiohttp server with the Slack and Teams endpoints that are configured. "
        "Slack needs SLACK_BOT_TOKEN + SLACK_SIGNING_SECRET; Teams needs MICROSOFT_APP_ID (+ password) "
        "or DESKHAND_TEAMS_INSECURE_NO_AUTH=true outside production. OpenTelemetry traces go to "
        "OTEL_EXPORTER_OTLP_ENDPOINT when it is set (needs the otel extra: `pip install -e '.[otel]'`).",
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default: $PORT, else 3000; 0 = any free port)")
    p.add_argument(
        "--slack-socket-mode",
        action="store_true",
        help="receive Slack events over Socket Mode (needs SLACK_APP_TOKEN) instead of HTTP",
    )
    p.add_argument("--index", metavar="DIR", help="index directory")

    def run(args: argparse.Namespace) -> int:
        settings = settings_fn(args)
        port = settings.port if args.port is None else args.port
        problem = _cannot_listen(args.host, port)  # before seconds of loading, not after
        if problem is not None:
            print(f"deskhand: cannot listen on {args.host}:{port}: {problem}", file=sys.stderr)
            return 2
        try:
            return asyncio.run(serve(settings, args.host, port, args.slack_socket_mode))
        except KeyboardInterrupt:
            return 0

    p.set_defaults(func=run)


def _cannot_listen(host: str, port: int) -> str | None:
    """Why the server could not bind `host:port` (e.g. "address already in use"), or None."""
    if port == 0:
        return None
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        return f"unknown host ({exc.strerror or type(exc).__name__})"
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp binds: TIME_WAIT is fine
        try:
            probe.bind(address)
        except OSError as exc:
            return (exc.strerror or type(exc).__name__).lower()
    return None
