"""A local ticket-system webhook (aiohttp on 127.0.0.1) that records every request and fails on demand."""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: Any
    status: int  # what the receiver answered


class TicketReceiver:
    """`await start()` → base URL; POST /hooks/{queue} opens ticket TCK-n unless a fault is queued."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._faults: list[tuple[int, float]] = []  # (status, delay seconds) for the next requests
        self._always: tuple[int, float] | None = None
        self._numbers = itertools.count(1001)
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/hooks/{queue}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def fail_next(self, count: int, status: int = 503, delay_s: float = 0.0) -> None:
        """The next `count` requests answer `status` (after `delay_s`, to provoke a client time-out)."""
        self._faults.extend([(status, delay_s)] * count)

    def fail_always(self, status: int = 503) -> None:
        self._always = (status, 0.0)

    def tickets(self) -> list[Received]:
        return [r for r in self.requests if r.status == 201]

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        fault = self._faults.pop(0) if self._faults else self._always
        status = fault[0] if fault else 201
        self.requests.append(Received(request.path, dict(request.headers), body, status))
        if fault:
            if fault[1]:
                await asyncio.sleep(fault[1])  # a slow receiver, not test synchronisation
            return web.json_response({"error": "unavailable"}, status=status)
        number = next(self._numbers)
        return web.json_response({"id": f"TCK-{number}", "url": f"{self.url}/tickets/TCK-{number}"}, status=201)
