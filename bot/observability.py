"""Logs and request ids: JSON log lines via structlog, the request-id and access-log middleware, readiness checks."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiohttp import web

from bot.metrics import Metrics
from bot.settings import Settings, SettingsError
from channels.context import accept_request_id, current_request_id, new_request_id, request_scope
from tools.tracing import annotate, span

ACCESS = logging.getLogger("deskhand.access")
NOISY = ("httpx", "sentence_transformers", "transformers", "aiosqlite", "alembic", "procrastinate", "bm25s")
REQUEST_ID_HEADER = "X-Request-Id"
ReadyCheck = Callable[[], Awaitable[None]]


def _add_request_id(_logger: Any, _method: str, event: dict[str, Any]) -> dict[str, Any]:
    rid = current_request_id()
    if rid and "request_id" not in event:
        event["request_id"] = rid
    return event


def configure_logging(level: str, fmt: str = "auto") -> None:
    """Route every standard-library log record through structlog: one JSON object per line (or a readable
    console line on a terminal), each carrying the current request id."""
    json_lines = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    shared: list[Any] = [
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_request_id,
    ]
    renderer: Any = structlog.processors.JSONRenderer() if json_lines else structlog.dev.ConsoleRenderer(colors=False)
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def start_tracing(settings: Settings) -> Any:
    """OpenTelemetry spans when an OTLP endpoint is set (the SDK is imported only then), else None."""
    endpoint = settings.traces_endpoint
    if endpoint is None:
        return None
    try:
        from bot.otel import start_tracing as start
    except ImportError:
        raise SettingsError(
            "OTEL_EXPORTER_OTLP_ENDPOINT is set but the OpenTelemetry SDK is not installed: "
            "DESKHAND_EXTRAS=otel scripts/run.sh, or pip install -e '.[otel]' in the Deskhand checkout "
            "(or unset the endpoint)"
        ) from None
    return start(endpoint, settings.otel_service_name, settings.trace_export_timeout_seconds)


def _route(request: web.Request) -> str:
    """The matched route's pattern (bounded label values), never the raw path."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


def build_observability_middleware(metrics: Metrics | None) -> Any:
    """Give each HTTP request a new request id (returned as X-Request-Id), time it, count it and write one
    access-log line. Work the handler spawns (a turn after the ack) inherits the id. An incoming
    X-Request-Id is only logged (`upstream_request_id`): ours also keys tool idempotency, so a proxy
    that reused one must never make two turns share it."""

    @web.middleware
    async def observe(request: web.Request, handler: Any) -> web.StreamResponse:
        started = time.perf_counter()
        upstream = request.headers.get(REQUEST_ID_HEADER)
        route = _route(request)
        attributes = {"http.request.method": request.method, "http.route": route}
        with request_scope(new_request_id()) as rid, span(f"{request.method} {route}", "server", **attributes):
            status = 500
            try:
                response = await handler(request)
                status = response.status
                response.headers[REQUEST_ID_HEADER] = rid
                return response
            except web.HTTPException as exc:
                status = exc.status
                raise
            finally:
                elapsed = time.perf_counter() - started
                annotate(**{"http.response.status_code": status})
                if metrics is not None and route != "/metrics":
                    metrics.http_requests.labels(route=route, status=str(status)).inc()
                    metrics.observe(metrics.http_seconds, elapsed, route=route)
                ACCESS.info(
                    "%s %s %s %.1fms",
                    request.method,
                    request.path,
                    status,
                    elapsed * 1000,
                    extra={
                        "method": request.method,
                        "path": request.path,
                        "status": status,
                        "upstream_request_id": upstream
                        if upstream and accept_request_id(upstream) == upstream
                        else None,
                    },
                )

    return observe


def metrics_route(metrics: Metrics) -> Callable[[web.Application], None]:
    """An `attach` function adding GET /metrics."""

    async def scrape(request: web.Request) -> web.Response:
        body, content_type = await metrics.render(request.headers.get("Accept", ""))
        response = web.Response(body=body)
        response.headers["Content-Type"] = content_type
        return response

    def attach(app: web.Application) -> None:
        app.router.add_get("/metrics", scrape)

    return attach
