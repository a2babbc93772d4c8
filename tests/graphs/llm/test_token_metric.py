"""LLM token usage on /metrics: every model call's prompt and completion tokens, by model, scraped over
HTTP from a runtime in LLM mode that talks to the OpenAI-compatible test server."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from bot.metrics import Metrics
from bot.observability import metrics_route
from bot.server import build_web_app
from bot.settings import offline_runtime
from bot.wiring import open_runtime
from channels.base import InboundMessage
from tests.emulators.openai_api import OpenAIEmulator
from tests.emulators.scripted_model import quoting_responder

offline_runtime()
BOB = "bob.martin@example.com"
MODEL = "openai:emulated-gpt"


async def _scrape(metrics: Metrics) -> dict[tuple[str, str], float]:
    runner = web.AppRunner(build_web_app(attach=[metrics_route(metrics)]), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/metrics"
        async with aiohttp.ClientSession() as http, http.get(url) as response:
            assert response.status == 200
            body = await response.text()
    finally:
        await runner.cleanup()
    found: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            if sample.name == "deskhand_llm_tokens_total":
                found[(sample.labels["model"], sample.labels["kind"])] = sample.value
    return found


async def test_tokens_of_each_call_are_counted_by_model_and_kind(
    llm_settings: Callable[..., Any], embedder: Any, openai_server: OpenAIEmulator
) -> None:
    openai_server.book.responder = quoting_responder
    metrics = Metrics()
    assert await _scrape(metrics) == {}  # nothing before the first call
    async with open_runtime(llm_settings(), embedder=embedder, metrics=metrics) as rt:
        message = InboundMessage(
            channel="local",
            conversation_key="local:tokens",
            user_id=BOB,
            user_email=BOB,
            text="how many PTO days do I get?",
            conversation_ref={"conversation": "tokens"},
        )
        reply = await rt.agent.handle(message)
        assert reply.route == "answer", reply
        rows = rt.llm.usage.lines(by="model") if rt.llm else []
    counted = await _scrape(metrics)
    # The metric agrees with the usage rows the same calls wrote (both come from the model's usage data).
    assert counted[(MODEL, "prompt")] == sum(line.input_tokens for line in rows) > 0
    assert counted[(MODEL, "completion")] == sum(line.output_tokens for line in rows) > 0
