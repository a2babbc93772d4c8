"""A small round-robin HTTP reverse proxy (aiohttp) standing in for the load balancer in front of web processes."""

from __future__ import annotations

import itertools
from collections import Counter

import aiohttp
from aiohttp import web

HOP_BY_HOP = {"host", "content-length", "connection", "keep-alive", "transfer-encoding", "upgrade"}


class RoundRobinProxy:
    """Sends each request to the next backend in turn; `served` counts requests per backend."""

    def __init__(self, backends: list[str]) -> None:
        self.backends = backends
        self._next = itertools.cycle(range(len(backends)))
        self.served: Counter[str] = Counter()
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None
        self.url = ""

    async def start(self) -> str:
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self.url

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self._http is not None
        backend = self.backends[next(self._next)]
        self.served[backend] += 1
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        body = await request.read()
        async with self._http.request(
            request.method, backend + request.path_qs, headers=headers, data=body, allow_redirects=False
        ) as upstream:
            payload = await upstream.read()
            out = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP}
            out["X-Backend"] = backend
            return web.Response(status=upstream.status, body=payload, headers=out)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._http is not None:
            await self._http.close()
