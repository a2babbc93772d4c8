"""The one aiohttp web application: channel endpoints plus /healthz and /readyz."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

log = logging.getLogger(__name__)

Attach = Callable[[web.Application], None]
ReadyCheck = Callable[[], Awaitable[None]]


class _QuietBadRequests(logging.Filter):
    """aiohttp answers a request it cannot parse (a bad header, a broken request line) with 400, then logs
    the parser's traceback at ERROR: turn that into one warning line, since bad input is not our error."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError) and (exc.code or 400) < 500:
            first_line = str(exc.message).strip().splitlines()[0] if exc.message else ""
            record.msg = f"{record.getMessage()}: malformed HTTP request answered {exc.code or 400} ({first_line})"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def quiet_bad_requests() -> None:
    """Install the filter on aiohttp's server logger (once; the logger is process-wide by nature)."""
    server_log = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, _QuietBadRequests) for f in server_log.filters):
        server_log.addFilter(_QuietBadRequests())


READY_TIMEOUT_S = 1.0  # a hung dependency is reported as down, not waited for


def build_web_app(
    attach: Iterable[Attach] = (),
    ready: Mapping[str, ReadyCheck] | Iterable[ReadyCheck] = (),
    middlewares: Iterable[Any] = (),
) -> web.Application:
    """Build the server: each `attach` adds a channel's routes; each `ready` check (by the dependency's
    name) raises when it is down, which /readyz reports as 503 naming it (liveness stays 200)."""
    if isinstance(ready, Mapping):
        checks = dict(ready)
    else:
        checks = {getattr(c, "__name__", f"check{i}"): c for i, c in enumerate(ready)}
    quiet_bad_requests()
    app = web.Application(client_max_size=1024 * 1024, middlewares=list(middlewares))

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def probe(name: str, check: ReadyCheck) -> str | None:
        try:
            await asyncio.wait_for(check(), READY_TIMEOUT_S)
        except Exception as exc:
            log.warning("readiness: %s is down (%s)", name, type(exc).__name__)
            return name
        return None

    async def readyz(_request: web.Request) -> web.Response:
        results = await asyncio.gather(*(probe(n, c) for n, c in checks.items()))
        failed = [name for name in results if name]
        if failed:
            return web.json_response({"status": "unavailable", "failed": failed}, status=503)
        return web.json_response({"status": "ready", "checked": sorted(checks)})

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    for add in attach:
        add(app)
    return app
