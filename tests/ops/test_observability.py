"""Request ids, the access log, /metrics and /readyz on a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from bot.metrics import Metrics
from bot.observability import build_observability_middleware, configure_logging, metrics_route
from bot.readiness import index_check
from bot.server import build_web_app
from channels.context import current_request_id


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[tuple[str, Metrics]]:
    metrics = Metrics()

    def attach(app: web.Application) -> None:
        async def work(_request: web.Request) -> web.Response:
            metrics.observe(metrics.turn_seconds, 0.042, channel="slack")
            logging.getLogger("test.work").info("working")
            return web.json_response({"request_id": current_request_id()})

        app.router.add_post("/slack/events", work)

    app = build_web_app(
        attach=[attach, metrics_route(metrics)],
        ready=[index_check(tmp_path / "no-index")],
        middlewares=[build_observability_middleware(metrics)],
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}", metrics
    await runner.cleanup()


async def test_request_id_reaches_the_handler_the_logs_and_the_exemplar(server, capfd):
    url, _metrics = server
    configure_logging("INFO", "json")
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{url}/slack/events", headers={"X-Request-Id": "lb-1234"}) as r:
            first = r.headers["X-Request-Id"]
            assert first != "lb-1234" and (await r.json())["request_id"] == first  # ours, never the caller's
        async with http.post(f"{url}/slack/events", headers={"X-Request-Id": "bad id; drop table"}) as r:
            fresh = r.headers["X-Request-Id"]
            assert fresh not in (first, "bad id; drop table") and len(fresh) == 16
        async with http.get(f"{url}/metrics", headers={"Accept": "application/openmetrics-text"}) as r:
            exposition = await r.text()
        async with http.get(f"{url}/metrics") as r:
            plain = await r.text()
            assert r.headers["Content-Type"].startswith("text/plain")
    logging.getLogger().handlers.clear()
    records = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")]
    work = [r for r in records if r.get("event") == "working"]
    access = [r for r in records if r.get("logger") == "deskhand.access" and r.get("path") == "/slack/events"]
    assert [r["request_id"] for r in work] == [first, fresh]
    assert [(r["request_id"], r["status"]) for r in access] == [(first, 200), (fresh, 200)]
    assert [r.get("upstream_request_id") for r in access] == ["lb-1234", None]  # kept for correlation, if sane
    assert f'request_id="{fresh}"' in exposition  # the latest observation in the bucket
    assert 'deskhand_http_requests_total{route="/slack/events",status="200"} 2.0' in plain


async def test_readyz_names_the_failing_check(server):
    url, _ = server
    async with aiohttp.ClientSession() as http, http.get(f"{url}/readyz") as r:
        assert r.status == 503 and (await r.json())["failed"] == ["index"]


async def test_sampled_gauges_are_read_at_scrape_time(server):
    url, metrics = server
    depth = {"n": 3.0}

    async def sampler():
        return {(): depth["n"]}

    metrics.sampled_gauge("deskhand_queue_depth", "Jobs due", [], sampler)
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{url}/metrics") as r:
            assert "deskhand_queue_depth 3.0" in await r.text()
        depth["n"] = 0.0
        async with http.get(f"{url}/metrics") as r:
            assert "deskhand_queue_depth 0.0" in await r.text()
