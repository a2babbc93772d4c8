"""Benchmark: how long an LLM-mode turn takes to fall back to the offline answer when the provider is
down, answers 500 or hangs, against the configured time-out (target: within time-out + 100 ms).

  python bench/llm_fallback.py [--timeout 1.0] [--turns 20] [--retries 2]

Each turn is what the agent does in LLM mode: the tool-choice request, then the grounded-answer stream,
through the real langchain-openai client to the OpenAI-compatible test server on 127.0.0.1 (or to a closed
port for "down"). A fresh breaker per turn measures the worst case (an open breaker answers at once).
Prints p50/p95/max of the fallback latency per scenario and the overshoot over the time-out.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from graphs.llm import Breakers, GroundedAnswerer, LLMClient, ModelConfig, build_chat_model  # noqa: E402
from graphs.llm.understand import ToolCallingUnderstander  # noqa: E402
from knowledge.types import Answer, Chunk, Citation, Hit  # noqa: E402
from tests.emulators.llm_script import Script  # noqa: E402
from tests.emulators.openai_api import API_KEY, OpenAIEmulator  # noqa: E402

TEXT = "Full-time employees receive 20 days of paid time off per calendar year. Requests go through Workday."


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def extractive() -> Answer:
    hit = Hit(Chunk(0, "time-off/pto.md", "Paid time off", "PTO", TEXT, "d", "c"), score=1.0, dense=0.8)
    return Answer(TEXT + " [1]", [Citation(1, "time-off/pto.md", "Paid time off", "PTO", 1.0)], 0.9, True, hits=[hit])


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def turn(base_url: str, budget_s: float, retries: int, i: int) -> tuple[float, str]:
    config = ModelConfig("openai:bench", base_url, API_KEY, budget_s, retries)
    model = build_chat_model(config)
    client = LLMClient(model, config, Breakers())
    understander = ToolCallingUnderstander(model, [], client=client)
    answerer = GroundedAnswerer(client)
    started = time.perf_counter()
    await understander.understand("how many PTO days do I get?", [], user="u", turn=f"t{i}")
    outcome = await answerer.answer("how many PTO days do I get?", extractive(), user="u", turn=f"t{i}")
    return (time.perf_counter() - started) * 1000, outcome.path


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--timeout", type=float, default=1.0, help="DESKHAND_LLM_TIMEOUT_SECONDS (default 1.0)")
    ap.add_argument("--turns", type=int, default=20)
    ap.add_argument("--retries", type=int, default=2)
    args = ap.parse_args()
    server = OpenAIEmulator()
    await server.start()
    scenarios = {
        "down (connection refused)": (f"http://127.0.0.1:{closed_port()}/v1", None),
        "500 on every request": (server.base_url, lambda body: Script(status=500)),
        "429 with Retry-After: 0.2": (server.base_url, lambda body: Script(status=429, retry_after=0.2)),
        "time-out (no answer)": (server.base_url, lambda body: Script(content="late", delay=args.timeout + 5)),
    }
    budget_ms = args.timeout * 1000
    print(f"time-out {args.timeout:g} s, retries {args.retries}, {args.turns} turns per scenario")
    try:
        for name, (url, responder) in scenarios.items():
            server.book.responder = responder
            times = []
            for i in range(args.turns):
                ms, path = await turn(url, args.timeout, args.retries, i)
                assert path == "extractive", path
                times.append(ms)
            over = max(times) - budget_ms
            print(
                f"{name:28s} p50 {pct(times, 50):7.1f} ms  p95 {pct(times, 95):7.1f} ms  max {max(times):7.1f} ms"
                f"  max over time-out {over:+7.1f} ms  {'ok' if over <= 100 else 'OVER'}"
            )
    finally:
        await server.stop()


if __name__ == "__main__":
    asyncio.run(main())
