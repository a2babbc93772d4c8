"""Slack streaming benchmark: event → first streamed words, and event → full answer, streaming vs. not.

Run from the repository root: `python -m bench.slack_first_words [--agent offline|scripted] [--count 30]`.
A signed `app_mention` is POSTed to our server on 127.0.0.1; the Slack Web API emulator (in this process)
records when the first words arrive (the first `chat.appendStream`; without streaming, the first
`chat.update`/post that is not "Thinking…") and when the full answer is shown (`chat.stopStream`; without
streaming, the last `chat.update`). The same run with streaming unavailable (the emulator answers
`unknown_method`) measures the `chat.update` path. `--agent offline` (the default) is the real offline agent
on an index of the sample handbook built first, asked the knowledge questions of
`evals/datasets/knowledge.jsonl`; `--agent scripted` measures the channel alone (the scripted handler's
answer is ready at once, or after `--work-ms`).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from bench.teams_first_words import questions
from channels.coordination import build_coordinator, new_namespace
from channels.core import wording
from tests.channels.scripted_handler import ScriptedHandler
from tests.channels.slack.support import mention, start_server, wait_for
from tests.emulators.slack_api import SlackApiEmulator


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


CPU: dict[bool, float] = {}  # streaming? -> CPU seconds of this process per mention (load-independent-ish)


def line(name: str, values: list[float]) -> str:
    return f"  {name:<28} p50 {pct(values, 50) * 1000:7.1f} ms   p95 {pct(values, 95) * 1000:7.1f} ms"


async def offline_agent(stack: AsyncExitStack) -> Any:
    """The real offline agent (embedded default) on an index of the sample handbook, built here."""
    from bot.settings import DEFAULT_CORPUS, Settings, offline_runtime

    offline_runtime()
    from bot.wiring import open_runtime
    from knowledge.embedder import load_embedder
    from knowledge.index import build_index

    work = Path(tempfile.mkdtemp(prefix="deskhand-bench-"))
    embedder = load_embedder()
    build_index([DEFAULT_CORPUS], work / "index", embedder, progress=False)
    settings = Settings(data_dir=work / "data", index_dir=work / "index")
    return (await stack.enter_async_context(open_runtime(settings, embedder=embedder))).agent


def _words(call: Any) -> bool:
    """A call that shows answer text (not the "Thinking…" placeholder)."""
    if call.method == "chat.appendStream":
        return bool(call.params.get("markdown_text"))
    if call.method in ("chat.update", "chat.postMessage"):
        return wording.THINKING not in str(call.params.get("text", ""))
    return False


async def run(handler: Any, count: int, streaming: bool, redis_url: str | None) -> tuple[list[float], list[float]]:
    emulator = SlackApiEmulator()
    await emulator.start()
    if not streaming:
        emulator.streaming_error = "unknown_method"
    coordinator = build_coordinator(redis_url, namespace=new_namespace("benchstream"))
    server = await start_server(handler, coordinator, emulator)
    asked = questions()
    first: list[float] = []
    full: list[float] = []
    cpu = 0.0
    try:
        for i in range(count + 3):  # the first three warm the caches (user look-ups, connections)
            before = len(emulator.calls)
            event = mention("U_MAYA", asked[i % len(asked)])
            sent, cpu_before = time.monotonic(), time.process_time()
            await server.deliver(event)
            done_method = "chat.stopStream" if streaming else "chat.update"

            def answered(b: int = before, m: str = done_method) -> list[Any]:
                return [c for c in emulator.calls[b:] if c.method == m and c.ok]

            await wait_for(answered, 60)
            await server.channel.drain()
            cpu += (time.process_time() - cpu_before) if i >= 3 else 0.0
            calls = [c for c in emulator.calls[before:] if c.ok]
            first.append(next(c.at for c in calls if _words(c)) - sent)
            full.append([c.at for c in calls if c.method == done_method][-1] - sent)
    finally:
        await server.stop()
        await coordinator.close()
        await emulator.stop()
    CPU[streaming] = cpu / count
    return first[3:], full[3:]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agent", choices=("offline", "scripted"), default="offline")
    parser.add_argument("--count", type=int, default=30, help="mentions per mode (sequential)")
    parser.add_argument("--work-ms", type=float, default=0.0, help="scripted agent: simulated time per answer")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL"), help="coordination (default: in-process)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    async with AsyncExitStack() as stack:
        if args.agent == "offline":
            handler: Any = await offline_agent(stack)
        else:
            handler = ScriptedHandler(work_s=args.work_ms / 1000)
        print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}; agent {args.agent}")
        print(f"{args.count} mentions per mode, one at a time")
        s_first, s_full = await run(handler, args.count, True, args.redis_url)
        p_first, p_full = await run(handler, args.count, False, args.redis_url)
    print("Streaming (chat.startStream → appendStream → stopStream):")
    print(line("event → first streamed words", s_first))
    print(line("event → full answer", s_full))
    print("Not streaming (Thinking… → chat.update):")
    print(line("event → first words", p_first))
    print(line("event → full answer", p_full))
    print(f"CPU of this process per mention: streaming {CPU[True] * 1000:.1f} ms, not {CPU[False] * 1000:.1f} ms")
    print(f"target: first words p95 ≤ 300 ms: {'met' if pct(s_first, 95) <= 0.3 else 'NOT met'}")
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    asyncio.run(main())
