"""The one aiohttp web application: channel endpoints plus /healthz and /readyz."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web

log = logging.getLogger(__name__)

Attach = Callable[[web.Application], None]
ReadyCheck = Callable[[], Awaitable[None]]


def build_web_app(attach: Iterable[Attach] = (), ready: Iterable[ReadyCheck] = ()) -> web.Application:
    """Build the server: each `attach` adds a channel's routes; each `ready` check raises when a
    dependency is down, which /readyz reports as 503 (liveness stays 200)."""
    checks = list(ready)
    app = web.Application(client_max_size=1024 * 1024)

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(_request: web.Request) -> web.Response:
        failed = []
        for check in checks:
            try:
                await check()
            except Exception:
                log.warning("readiness check %s failed", getattr(check, "__name__", check), exc_info=True)
                failed.append(getattr(check, "__name__", "check"))
        if failed:
            return web.json_response({"status": "unavailable", "failed": failed}, status=503)
        return web.json_response({"status": "ready"})

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    for add in attach:
        add(app)
    return app
