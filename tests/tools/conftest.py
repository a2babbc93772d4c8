"""Fixtures for the tools tests: directories on real SCIM servers, ledgers on SQLite and PostgreSQL,
and a misbehaving HTTP proxy (aiohttp on 127.0.0.1) in front of a real SCIM server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from tests.conftest import postgres_schema
from tools.directory import Directory
from tools.directory_data import DirectoryData
from tools.ledger import Ledger, build_ledger
from tools.scim_calls import RetryPolicy

FAST_RETRY = RetryPolicy(attempts=3, initial_wait_s=0.01, max_wait_s=0.05, timeout_s=3.0)
HOP_HEADERS = {"host", "content-length", "transfer-encoding", "connection"}


@dataclass
class FlakyProxy:
    """Forwards to a real SCIM server, misbehaving on the next few requests as configured."""

    upstream: str  # http://127.0.0.1:PORT (no path)
    url: str = ""  # the proxy's SCIM base URL, …/v2
    fail_next: int = 0  # answer 503 (plain text, as a load balancer would) without forwarding
    scim_500_next: int = 0  # answer 500 with a SCIM error body without forwarding
    hang_next: int = 0  # never answer (the client times out)
    lose_post_responses: int = 0  # forward a POST, then answer 502 as if the response was lost
    hide_searches: int = 0  # answer user searches with an empty list (a lagging replica)
    seen: list[tuple[str, str]] = field(default_factory=list)
    forwarded: list[tuple[str, str]] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append((request.method, request.path_qs))
        if self.fail_next:
            self.fail_next -= 1
            return web.Response(status=503, text="service unavailable")
        if self.scim_500_next:
            self.scim_500_next -= 1
            error = {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                "status": "500",
                "detail": "internal error",
            }
            return web.json_response(error, status=500, content_type="application/scim+json")
        if self.hang_next:
            self.hang_next -= 1
            await self.release.wait()  # released at teardown; the client gives up long before
            return web.Response(status=504)
        if self.hide_searches and request.method == "GET" and "filter" in request.query:
            self.hide_searches -= 1
            empty = {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                "totalResults": 0,
                "itemsPerPage": 0,
                "startIndex": 1,
                "Resources": [],
            }
            return web.json_response(empty, content_type="application/scim+json")
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        async with (
            aiohttp.ClientSession() as session,
            session.request(request.method, self.upstream + request.path_qs, data=body, headers=headers) as upstream,
        ):
            payload = await upstream.read()
            status = upstream.status
            content_type = upstream.headers.get("Content-Type", "application/scim+json")
        self.forwarded.append((request.method, request.path_qs))
        if self.lose_post_responses and request.method == "POST":
            self.lose_post_responses -= 1
            return web.Response(status=502, text="bad gateway")
        return web.Response(status=status, body=payload, headers={"Content-Type": content_type})


@pytest.fixture
async def flaky_proxy(scim_server_url: str) -> AsyncIterator[FlakyProxy]:
    upstream = scim_server_url.removesuffix("/v2")
    proxy = FlakyProxy(upstream=upstream)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", proxy.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    proxy.url = f"http://127.0.0.1:{port}/v2"
    yield proxy
    proxy.release.set()
    await runner.cleanup()


@pytest.fixture
async def directory_factory(directory_data: DirectoryData) -> AsyncIterator[Callable[..., Directory]]:
    """Directories over a given SCIM URL with fast retries; closed at the end of the test."""
    made: list[Directory] = []

    def make(url: str, token: str | None = None, retry: RetryPolicy = FAST_RETRY) -> Directory:
        directory = Directory(url, token, groups_meta=directory_data.groups, retry=retry)
        made.append(directory)
        return directory

    yield make
    for directory in made:
        await directory.aclose()


@pytest.fixture
def directory(make_scim_server: Callable[..., str], directory_factory: Callable[..., Directory]) -> Directory:
    """A Directory over a private, freshly seeded SCIM server (tests may change it freely)."""
    return directory_factory(make_scim_server())


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def readonly_ledger(
    request: pytest.FixtureRequest, sample_data_dir: Path, pg_base_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Ledger]:
    """The sample ledger shared by a module's read-only tests (never write through it)."""
    if request.param == "sqlite":
        built = build_ledger(f"sqlite:///{tmp_path_factory.mktemp('ledger') / 'ro.db'}", sample_data_dir)
        yield built
        built.close()
        return
    with postgres_schema(pg_base_url, "ro") as url:
        built = build_ledger(url, sample_data_dir)
        yield built
        built.close()


@pytest.fixture(params=["sqlite", "postgres"])
def ledger(request: pytest.FixtureRequest, sample_data_dir: Path) -> Iterator[Ledger]:
    """The sample ledger, migrated and seeded, on a SQLite file and on a fresh PostgreSQL schema."""
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "fresh_pg_url")
    built = build_ledger(url, sample_data_dir)
    yield built
    built.close()
