"""CPU time one Slack turn costs a `deskhand serve` process (PostgreSQL, Redis, the Slack emulator), load-independent.

Starts one web process as `bench/scale.py` does (without the worker), warms it up, then sends mentions one at a
time (each waits for its answer) and reads the process's user + system CPU time from /proc before and after:
CPU ms per turn. With `--profile FILE` the process runs under cProfile and writes FILE when it stops.

`python -m bench.turn_cpu [--turns 60] [--profile /tmp/serve.prof]`
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp

from bench.scale import QUESTIONS, serve_env
from bench.slack_ack import Emulator, load, pct, wait_answered
from tests.channels.slack.support import event_callback, mention, sign
from tests.conftest import postgres_schema
from tests.emulators.slack_api import slack_id
from tests.ops.processes import LoggedProcess, deskhand
from tests.ops.test_cluster import _free_base_port

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of `pid` so far (/proc/PID/stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


async def send(http: aiohttp.ClientSession, url: str, text: str) -> str:
    event = mention(slack_id("bob.martin@example.com"), text)
    body = json.dumps(event_callback(event, f"Ev{uuid.uuid4().hex[:12].upper()}"))
    async with http.post(
        f"{url}/slack/events", data=body, headers={"Content-Type": "application/json", **sign(body)}
    ) as r:
        await r.read()
    return str(event["ts"])


async def measure(turns: int, profile: str | None, index: Path) -> None:
    base_db = os.environ.get("DESKHAND_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/deskhand_test")
    redis_url = os.environ.get("DESKHAND_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    emulator = Emulator()
    with postgres_schema(base_db, "turncpu") as db, tempfile.TemporaryDirectory() as tmp:
        env = serve_env(db, redis_url, Path(tmp), index, emulator)
        upgrade = deskhand("db", "upgrade")
        await asyncio.to_thread(subprocess.run, upgrade, env=env, check=True, capture_output=True, timeout=300)
        port = _free_base_port()
        command = deskhand("serve", "--port", str(port))
        if profile:
            command = [sys.executable, "-m", "cProfile", "-o", profile, "-m", "bot", "serve", "--port", str(port)]
        web = LoggedProcess(command, env)
        url = f"http://127.0.0.1:{port}"
        try:
            await asyncio.to_thread(web.wait_line, r"Deskhand listening on http://", 400)
            async with aiohttp.ClientSession() as http:
                for i in range(10):  # warm-up: first-use caches
                    await wait_answered(emulator, [await send(http, url, QUESTIONS[i % len(QUESTIONS)])])
                before, started, walls = cpu_seconds(web.proc.pid), time.monotonic(), []
                for i in range(turns):
                    t = time.monotonic()
                    await wait_answered(emulator, [await send(http, url, QUESTIONS[i % len(QUESTIONS)])])
                    walls.append(time.monotonic() - t)
                cpu = cpu_seconds(web.proc.pid) - before
            print(
                f"{turns} turns: {cpu / turns * 1000:.1f} ms CPU per turn in the web process; wall per turn "
                f"p50 {pct(walls, 50) * 1000:.0f} / p95 {pct(walls, 95) * 1000:.0f} ms "
                f"({time.monotonic() - started:.1f} s) · load {load()}",
                flush=True,
            )
        except Exception:
            print("".join(web.lines[-30:]), file=sys.stderr)
            print(json.dumps((await emulator.calls())[-5:], indent=1)[:3000], file=sys.stderr)
            raise
        finally:
            if profile and web.proc.poll() is None:
                os.killpg(web.proc.pid, signal.SIGINT)  # a clean stop, so cProfile writes its file
                web.proc.wait(timeout=60)
            web.stop()
            await emulator.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=60)
    parser.add_argument("--profile", default=None, help="write a cProfile file of the serve process")
    parser.add_argument("--index", default=None, help="a built index (default: build the sample's)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        index = Path(args.index) if args.index else Path(tmp) / "index"
        if not args.index:
            subprocess.run(deskhand("index", "build", "--out", str(index), "--quiet"), check=True, capture_output=True)
        asyncio.run(measure(args.turns, args.profile, index))


if __name__ == "__main__":
    main()
