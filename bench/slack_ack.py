"""Slack channel benchmark: ack latency under 50 concurrent events, mention → answer time, duplicates under retries.

Run from the repository root: `python -m bench.slack_ack [--rounds 10] [--servers 2] [--no-redis]`.
The server(s) run in this process with the scripted handler (the channel is what is measured); the
load generator and the Slack Web API emulator run in their own processes, as Slack's are remote.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing
import os
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from typing import Any
from urllib.parse import urlencode

import aiohttp

from channels.coordination import Coordinator, build_coordinator, new_namespace
from channels.slack import actions
from tests.channels.scripted_handler import ScriptedHandler
from tests.channels.slack.support import (
    GENERAL,
    SlackServer,
    click,
    event_callback,
    mention,
    sign,
    start_server,
    wait_for,
)
from tests.emulators.slack_api import serve_in_process

Job = tuple[str, str, dict[str, str]]  # url, body, headers
SERVER_TIMES: list[float] = []  # each request's time inside the server (from request to response)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def ms(value: float) -> str:
    return f"{value * 1000:7.1f} ms"


def fire(jobs: list[Job]) -> list[tuple[float, float, int]]:
    """In the load-generator process: POST all jobs at once; (sent at, latency, status) each."""
    return asyncio.run(_fire(jobs))


async def _fire(jobs: list[Job]) -> list[tuple[float, float, int]]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def one(url: str, body: str, headers: dict[str, str]) -> tuple[float, float, int]:
            start = time.monotonic()  # CLOCK_MONOTONIC: comparable across processes on Linux
            async with session.post(url, data=body.encode(), headers=headers) as response:
                await response.read()
                return start, time.monotonic() - start, response.status

        return list(await asyncio.gather(*(one(*job) for job in jobs)))


def event_job(server: SlackServer, event: dict[str, Any], retry: int | None = None, event_id: str | None = None) -> Job:
    body = json.dumps(event_callback(event, event_id))
    headers = {"Content-Type": "application/json", **sign(body)}
    if retry is not None:
        headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
    return f"{server.url}/slack/events", body, headers


class Emulator:
    """The Slack Web API emulator in its own process, read over HTTP."""

    def __init__(self) -> None:
        queue: Any = multiprocessing.get_context("spawn").Queue()
        self.process = multiprocessing.get_context("spawn").Process(target=serve_in_process, args=(queue,), daemon=True)
        self.process.start()
        self.base_url: str = queue.get(timeout=30)
        self.session = aiohttp.ClientSession()
        self._seen: list[dict[str, Any]] = []  # calls fetched so far (fetched incrementally)
        self._thread_of: dict[str, str] = {}  # placeholder ts → thread ts
        self._answered: dict[str, float] = {}  # thread ts → when its placeholder was first updated

    async def _fetch(self) -> None:
        url = self.base_url.replace("/api/", "/_emulator/calls")
        async with self.session.get(url, params={"since": str(len(self._seen))}) as response:
            new = (await response.json())["calls"]
        self._seen += new
        for call in new:
            if not call["ok"]:
                continue
            if call["method"] in ("chat.postMessage", "chat.startStream"):
                self._thread_of[call["response"].get("ts")] = call["params"].get("thread_ts")
            elif call["method"] in ("chat.update", "chat.stopStream"):  # a streamed answer ends with stopStream
                thread = self._thread_of.get(call["params"].get("ts"))
                if thread is not None:
                    self._answered.setdefault(thread, call["at"])

    async def calls(self, method: str | None = None) -> list[dict[str, Any]]:
        await self._fetch()
        return [c for c in self._seen if c["ok"] and (method is None or c["method"] == method)]

    async def reset(self) -> None:
        async with self.session.post(self.base_url.replace("/api/", "/_emulator/reset")):
            pass
        self._seen, self._thread_of, self._answered = [], {}, {}

    async def answer_times(self, sent: dict[str, float]) -> dict[str, float]:
        """thread ts → seconds from delivery until the answer replaced the placeholder (or its stream closed)."""
        await self._fetch()
        return {thread: self._answered[thread] - at for thread, at in sent.items() if thread in self._answered}

    async def close(self) -> None:
        await self.session.close()
        self.process.terminate()


async def wait_answered(emulator: Emulator, threads: list[str], limit_s: float = 60) -> None:
    deadline = time.monotonic() + limit_s
    while len(await emulator.answer_times(dict.fromkeys(threads, 0.0))) < len(threads):
        if time.monotonic() > deadline:
            raise TimeoutError("answers did not arrive")
        await asyncio.sleep(0.005)


async def ack_only(servers: list[SlackServer], rounds: int, burst: int, pool: ProcessPoolExecutor) -> None:
    """Acks alone: events the bot acknowledges and ignores (channel chatter), so no turn competes."""
    loop = asyncio.get_running_loop()
    acks: list[float] = []
    cpu = time.process_time()
    for _ in range(rounds):
        chatter = [
            {
                "type": "message",
                "channel_type": "channel",
                "user": "U_BOB",
                "text": "lunch?",
                "channel": GENERAL,
                "ts": f"{time.time():.6f}{n}",
            }
            for n in range(burst)
        ]
        results = await loop.run_in_executor(pool, fire, [event_job(servers[0], e) for e in chatter])
        acks += [latency for _start, latency, _status in results]
    cpu = time.process_time() - cpu
    inside = SERVER_TIMES[-len(acks) :]
    print(f"Ack path alone, {burst} concurrent ignored events x {rounds} rounds:")
    print(f"  p50 {ms(pct(acks, 50))}   p99 {ms(pct(acks, 99))}   inside the server p99 {ms(pct(inside, 99))}")
    print(f"  server CPU per ack: {cpu / len(acks) * 1000:.2f} ms")


async def ack_and_answer(
    servers: list[SlackServer], emulator: Emulator, rounds: int, burst: int, pool: ProcessPoolExecutor
) -> None:
    acks: list[float] = []
    statuses: Counter[int] = Counter()
    sent: dict[str, float] = {}
    loop = asyncio.get_running_loop()
    cpu = time.process_time()
    for _ in range(rounds):
        events = [mention("U_BOB", "how do I get VPN access?") for _ in range(burst)]
        jobs = [event_job(servers[i % len(servers)], e) for i, e in enumerate(events)]
        results = await loop.run_in_executor(pool, fire, jobs)
        for event, (start, latency, status) in zip(events, results, strict=True):
            sent[event["ts"]] = start
            acks.append(latency)
            statuses[status] += 1
        await wait_answered(emulator, [e["ts"] for e in events])
    cpu = time.process_time() - cpu
    answered = list((await emulator.answer_times(sent)).values())
    print(f"Ack latency, {burst} concurrent signed events x {rounds} rounds ({len(acks)} acks):")
    print(f"  p50 {ms(pct(acks, 50))}   p99 {ms(pct(acks, 99))}   max {ms(max(acks))}")
    print(f"  acks > 3 s: {sum(a > 3 for a in acks)}   statuses: {dict(statuses)}")
    inside = SERVER_TIMES[-len(acks) :]
    print(f"  inside the server: p50 {ms(pct(inside, 50))}   p99 {ms(pct(inside, 99))}")
    print(f"  server CPU per event (ack + turn + polling): {cpu / len(acks) * 1000:.2f} ms")
    print(f"Mention → answer posted, under those bursts ({len(answered)} answers):")
    print(f"  p50 {ms(pct(answered, 50))}   p95 {ms(pct(answered, 95))}   max {ms(max(answered))}")


async def sequential_answers(
    servers: list[SlackServer], emulator: Emulator, count: int, pool: ProcessPoolExecutor, *, quiet: bool = False
) -> None:
    sent: dict[str, float] = {}
    loop = asyncio.get_running_loop()
    for i in range(count):
        event = mention("U_MAYA", "how do I get VPN access?")
        [(start, _latency, _status)] = await loop.run_in_executor(
            pool, fire, [event_job(servers[i % len(servers)], event)]
        )
        sent[event["ts"]] = start
        await wait_answered(emulator, [event["ts"]], 10)
    if quiet:
        return
    answered = list((await emulator.answer_times(sent)).values())
    print(f"Mention → answer posted, one at a time on a warm server ({len(answered)} answers):")
    print(f"  p50 {ms(pct(answered, 50))}   p95 {ms(pct(answered, 95))}   max {ms(max(answered))}")


async def retried_deliveries(
    servers: list[SlackServer], emulator: Emulator, handler: ScriptedHandler, count: int, pool: ProcessPoolExecutor
) -> None:
    """Every event and every click delivered 4 times (original + 3 retries), spread over the servers."""
    loop = asyncio.get_running_loop()
    before = len(handler.turns)
    events = [mention("U_BOB", "how do I get VPN access?") for _ in range(count)]
    holds = [mention("U_BOB", f"please hold INV-{10001 + i}") for i in range(count)]
    jobs = []
    for n, event in enumerate(events + holds):
        event_id = f"EvBENCH{n:05d}x{time.monotonic_ns()}"
        for retry in (None, 1, 2, 3):
            jobs.append(event_job(servers[(n + (retry or 0)) % len(servers)], event, retry, event_id))
    await loop.run_in_executor(pool, fire, jobs)
    await wait_for(lambda: len(handler.refs) >= count and len(handler.turns) - before >= 2 * count, 60)
    clicks: list[Job] = []
    for approval_id, refs in list(handler.refs.items())[-count:]:
        payload = click("U_CAROL", actions.APPROVE, approval_id, channel=GENERAL, message_ts=refs[0].data["ts"])
        form = urlencode({"payload": json.dumps(payload)})
        for k in range(4):
            url = f"{servers[k % len(servers)].url}/slack/events"
            clicks.append((url, form, {"Content-Type": "application/x-www-form-urlencoded", **sign(form)}))
    await loop.run_in_executor(pool, fire, clicks)
    await wait_for(lambda: handler.decide_calls >= count, 60)
    for server in servers:
        await server.channel.drain()
    posts = await emulator.calls("chat.postMessage")
    threads = Counter(str(c["params"].get("thread_ts")) for c in posts if c["params"].get("channel") == GENERAL)
    answer_dupes = sum(threads[e["ts"]] - 1 for e in events)
    per_thread_turns = Counter(t.conversation_key for t in handler.turns[before:])
    turn_dupes = sum(n - 1 for n in per_thread_turns.values())
    executions = Counter(handler.executions)
    action_dupes = sum(n - 1 for n in executions.values())
    print(
        f"Retries: {2 * count} events x 4 deliveries, {count} approvals x 4 click deliveries, {len(servers)} server(s):"
    )
    print(f"  turns run twice: {turn_dupes}   duplicate replies: {answer_dupes}   duplicate actions: {action_dupes}")
    print(f"  decide() calls: {handler.decide_calls} for {count} approvals; executions: {sum(executions.values())}")


async def main(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.WARNING)
    if args.no_redis and args.servers > 1:
        raise SystemExit("--no-redis needs --servers 1 (the in-process store is per process)")
    emulator = Emulator()
    namespace = new_namespace("bench")
    coordinators: list[Coordinator] = [
        build_coordinator(None if args.no_redis else args.redis_url, namespace=namespace) for _ in range(args.servers)
    ]
    handler = ScriptedHandler()
    servers = [await start_server(handler, c, emulator.base_url, SERVER_TIMES.append) for c in coordinators]
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    try:
        print(f"coordination: {'in-process' if args.no_redis else args.redis_url}; servers: {args.servers}")
        print(f"load average at start: {load()} ({os.cpu_count()} CPUs)\n")
        await sequential_answers(servers, emulator, 20, pool, quiet=True)  # warm-up
        await ack_only(servers, args.rounds, args.burst, pool)
        await ack_and_answer(servers, emulator, args.rounds, args.burst, pool)
        await emulator.reset()
        await sequential_answers(servers, emulator, args.sequential, pool)
        await emulator.reset()
        await retried_deliveries(servers, emulator, handler, args.retried, pool)
        print(f"\nload average at end: {load()}")
    finally:
        pool.shutdown()
        for server in servers:
            await server.stop()
        for coordinator in coordinators:
            await coordinator.close()
        await emulator.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--burst", type=int, default=50)
    parser.add_argument("--sequential", type=int, default=100)
    parser.add_argument("--retried", type=int, default=50)
    parser.add_argument("--servers", type=int, default=1)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--no-redis", action="store_true")
    asyncio.run(main(parser.parse_args()))
