"""Slack streaming benchmark: event → first streamed words, and event → full answer, streaming vs. not.

Run from the repository root: `python -m bench.slack_first_words [--count 60] [--work-ms 0]`.
A signed `app_mention` is POSTed to our server on 127.0.0.1; the Slack Web API emulator (in this process)
records when the first `chat.appendStream` and the closing `chat.stopStream` arrive. The same run with
streaming unavailable (the emulator answers `unknown_method`) measures the `chat.update` path. The agent is
the scripted handler (its knowledge answer is ready at once, or after `--work-ms`): the channel's own
latency is what is measured, not the knowledge engine's.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import time

from channels.coordination import build_coordinator, new_namespace
from tests.channels.scripted_handler import ScriptedHandler
from tests.channels.slack.support import mention, start_server, wait_for
from tests.emulators.slack_api import SlackApiEmulator


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def line(name: str, values: list[float]) -> str:
    return f"  {name:<28} p50 {pct(values, 50) * 1000:7.1f} ms   p95 {pct(values, 95) * 1000:7.1f} ms"


async def run(count: int, work_s: float, streaming: bool, redis_url: str | None) -> tuple[list[float], list[float]]:
    emulator = SlackApiEmulator()
    await emulator.start()
    if not streaming:
        emulator.streaming_error = "unknown_method"
    coordinator = build_coordinator(redis_url, namespace=new_namespace("benchstream"))
    server = await start_server(ScriptedHandler(work_s=work_s), coordinator, emulator)
    first: list[float] = []
    full: list[float] = []
    try:
        for _ in range(count + 3):  # the first three warm the caches (user look-ups, connections)
            before = len(emulator.calls)
            event = mention("U_MAYA", "how do I get VPN access?")
            sent = time.monotonic()
            await server.deliver(event)
            done_method = "chat.stopStream" if streaming else "chat.update"
            first_method = "chat.appendStream" if streaming else "chat.update"
            await wait_for(lambda b=before, m=done_method: [c for c in emulator.calls[b:] if c.method == m and c.ok])
            calls = emulator.calls[before:]
            first.append(next(c.at for c in calls if c.method == first_method and c.ok) - sent)
            full.append(next(c.at for c in calls if c.method == done_method and c.ok) - sent)
            await server.channel.drain()
    finally:
        await server.stop()
        await coordinator.close()
        await emulator.stop()
    return first[3:], full[3:]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=60, help="mentions per mode (sequential)")
    parser.add_argument("--work-ms", type=float, default=0.0, help="simulated agent time per answer")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL"), help="coordination (default: in-process)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}; {args.count} mentions per mode")
    s_first, s_full = await run(args.count, args.work_ms / 1000, True, args.redis_url)
    _, p_full = await run(args.count, args.work_ms / 1000, False, args.redis_url)
    print("Streaming (chat.startStream → appendStream → stopStream):")
    print(line("event → first streamed words", s_first))
    print(line("event → full answer", s_full))
    print("Not streaming (Thinking… → chat.update):")
    print(line("event → answer shown", p_full))
    print(f"target: first words p95 ≤ 300 ms: {'met' if pct(s_first, 95) <= 0.3 else 'NOT met'}")
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    asyncio.run(main())
