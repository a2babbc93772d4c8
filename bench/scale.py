"""Scale benchmark: 1 and 2 web processes + the worker (the Procfile under honcho, PostgreSQL, Redis).

For each web count, Slack mentions are sent open-loop at rising rates; a rate passes when ack p99 ≤ 100 ms
and mention → answer p95 ≤ 300 ms. At the best passing rate a sustained run also requests an approval
(TTL 1 min, reminder due at once) and measures how late the worker's reminder and expiry fire.

Run from the repository root with the test services up:
`python -m bench.scale [--webs 1 2] [--rates 2,5,10,20,40] [--step-seconds 10] [--sustain-seconds 75]`
(DESKHAND_TEST_DATABASE_URL and DESKHAND_TEST_REDIS_URL choose the PostgreSQL database and Redis).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
import psycopg

from bench.slack_ack import Emulator, load, pct
from tests.channels.slack.support import SIGNING_SECRET, event_callback, mention, sign
from tests.conftest import postgres_schema
from tests.emulators.slack_api import BOT_TOKEN, slack_id
from tests.ops.processes import LoggedProcess, deskhand
from tests.ops.test_cluster import _free_base_port

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = [
    "how many PTO days do I get per year?",
    "when are vendor payment runs?",
    "how do I submit travel expenses?",
    "what is the laptop refresh policy?",
    "who approves purchase orders?",
]
ACK_P99_S, ANSWER_P95_S = 0.100, 0.300


async def fire_at_rate(urls: list[str], rate: float, seconds: float) -> tuple[list[float], dict[str, float]]:
    """Open-loop: event i leaves at t0 + i/rate whatever the server does. (ack latencies, thread → sent)."""
    acks: list[float] = []
    sent: dict[str, float] = {}
    count = max(1, int(rate * seconds))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:

        async def one(i: int, at: float) -> None:
            await asyncio.sleep(max(0.0, at - time.monotonic()))
            event = mention(slack_id("bob.martin@example.com"), QUESTIONS[i % len(QUESTIONS)])
            body = json.dumps(event_callback(event, f"Ev{uuid.uuid4().hex[:12].upper()}"))
            headers = {"Content-Type": "application/json", **sign(body)}
            start = time.monotonic()
            sent[event["ts"]] = start
            async with http.post(f"{urls[i % len(urls)]}/slack/events", data=body, headers=headers) as r:
                await r.read()
            acks.append(time.monotonic() - start)

        t0 = time.monotonic() + 0.2
        await asyncio.gather(*(one(i, t0 + i / rate) for i in range(count)))
    return acks, sent


async def answers(emulator: Emulator, sent: dict[str, float], limit_s: float = 90) -> list[float]:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        got = await emulator.answer_times(sent)
        if len(got) == len(sent):
            return list(got.values())
        await asyncio.sleep(0.2)
    got = await emulator.answer_times(sent)
    return list(got.values()) + [float("inf")] * (len(sent) - len(got))  # unanswered count as misses


async def approval_timing(emulator: Emulator, url: str, db_url: str, sustain_s: float) -> dict[str, float]:
    """Request one approval; return how late its reminder (due at once) and its expiry were posted."""
    event = mention(slack_id("hector.ruiz@example.com"), "put a hold on invoice INV-10077")
    body = json.dumps(event_callback(event, f"Ev{uuid.uuid4().hex[:12].upper()}"))
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{url}/slack/events", data=body, headers={"Content-Type": "application/json", **sign(body)}),
    ):
        pass
    offset = time.time() - time.monotonic()  # wall clock ↔ the emulator's monotonic timestamps
    deadline = time.monotonic() + sustain_s + 60
    reminder = expired = None
    while time.monotonic() < deadline and (reminder is None or expired is None):
        for call in await emulator.calls("chat.postMessage"):
            if call["params"].get("thread_ts") != event["ts"]:
                continue
            text = json.dumps(call["params"])
            if "Reminder" in text and reminder is None:
                reminder = call["at"] + offset
            if "expired before" in text and expired is None:
                expired = call["at"] + offset
        await asyncio.sleep(0.5)
    with psycopg.connect(db_url, autocommit=True) as conn:
        row = conn.execute("SELECT created_at, expires_at FROM approvals ORDER BY created_at DESC LIMIT 1").fetchone()
    created, expires = row[0].timestamp(), row[1].timestamp()  # type: ignore[index]
    return {
        "reminder_late_s": (reminder - created) if reminder else float("inf"),
        "expiry_late_s": (expired - expires) if expired else float("inf"),
    }


def serve_env(db: str, redis_url: str, tmp: Path, index: Path, emulator: Emulator, **extra: str) -> dict[str, str]:
    """The environment of `deskhand serve`/`worker` processes on PostgreSQL, Redis and the Slack emulator."""
    return {
        **os.environ,
        "DATABASE_URL": db,
        "REDIS_URL": redis_url,
        "DESKHAND_DATA_DIR": str(tmp / "data"),
        "DESKHAND_INDEX_DIR": str(index),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": emulator.base_url,
        "DESKHAND_LOG_LEVEL": "WARNING",
        "DESKHAND_LOG_FORMAT": "json",
        **extra,
    }


async def run_config(webs: int, rates: list[float], step_s: float, sustain_s: float, index: Path) -> None:
    base_db = os.environ.get("DESKHAND_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/deskhand_test")
    redis_url = os.environ.get("DESKHAND_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    emulator = Emulator()
    with postgres_schema(base_db, "bench") as db, tempfile.TemporaryDirectory() as tmp:
        env = serve_env(
            db,
            redis_url,
            Path(tmp),
            index,
            emulator,
            DESKHAND_APPROVAL_TTL_MINUTES="1",
            DESKHAND_REMINDER_BEFORE_MINUTES="1",
        )
        await asyncio.to_thread(
            subprocess.run, deskhand("db", "upgrade"), env=env, check=True, capture_output=True, timeout=300
        )
        port = _free_base_port()
        honcho = LoggedProcess(
            [
                "honcho",
                "start",
                "-f",
                str(ROOT / "Procfile"),
                "-d",
                str(ROOT),
                "-p",
                str(port),
                "-c",
                f"web={webs},worker=1",
            ],
            env,
        )
        try:
            for n in range(1, webs + 1):
                await asyncio.to_thread(honcho.wait_line, rf"web\.{n} .*Deskhand listening on http://", 400)
            await asyncio.to_thread(honcho.wait_line, r"worker\.1 .*Deskhand worker started", 400)
            urls = [f"http://127.0.0.1:{port + i}" for i in range(webs)]
            await fire_at_rate(urls, 2, 2)  # warm-up: first-use caches in every process
            best = 0.0
            for rate in rates:
                await emulator.reset()
                acks, sent = await fire_at_rate(urls, rate, step_s)
                lat = await answers(emulator, sent)
                ok = pct(acks, 99) <= ACK_P99_S and pct(lat, 95) <= ANSWER_P95_S
                print(
                    f"webs={webs} rate={rate:5.1f}/s events={len(sent):4d} ack p50 {pct(acks, 50) * 1000:6.1f} "
                    f"p99 {pct(acks, 99) * 1000:6.1f} ms · answer p50 {pct(lat, 50) * 1000:7.1f} "
                    f"p95 {pct(lat, 95) * 1000:7.1f} ms · {'PASS' if ok else 'fail'} · load {load()}",
                    flush=True,
                )
                if not ok:
                    break
                best = rate
            print(f"webs={webs}: highest passing rate {best}/s (load {load()})", flush=True)
            if sustain_s:
                # Without a passing rate, the job timings are still measured, at the lowest rate tried.
                best = best or rates[0]
                await emulator.reset()
                timing, (acks, sent) = await asyncio.gather(
                    approval_timing(emulator, urls[0], db.replace("postgresql+psycopg", "postgresql"), sustain_s),
                    fire_at_rate(urls, best, sustain_s),
                )
                lat = await answers(emulator, sent)
                print(
                    f"webs={webs} sustained {best}/s for {sustain_s:.0f}s: ack p99 {pct(acks, 99) * 1000:.1f} ms, "
                    f"answer p95 {pct(lat, 95) * 1000:.1f} ms; reminder {timing['reminder_late_s']:.2f}s after due, "
                    f"expiry {timing['expiry_late_s']:.2f}s after due · load {load()}",
                    flush=True,
                )
        finally:
            honcho.stop()
            await emulator.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--webs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rates", default="2,5,10,20,40")
    parser.add_argument("--step-seconds", type=float, default=10)
    parser.add_argument("--sustain-seconds", type=float, default=75)
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp) / "index"
        subprocess.run(deskhand("index", "build", "--out", str(index), "--quiet"), check=True, capture_output=True)
        print(f"machine: {os.cpu_count()} cores, load {load()}", flush=True)
        for webs in args.webs:
            asyncio.run(run_config(webs, rates, args.step_seconds, args.sustain_seconds, index))


if __name__ == "__main__":
    main()
