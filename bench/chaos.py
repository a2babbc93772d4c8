"""Crash benchmark: `kill -9` a real `deskhand serve` and `deskhand worker` (PostgreSQL, Redis) at chosen
and random points while signed Slack events are retried and approvals decided; restart them and check
nothing was lost or doubled.

Run from the repository root (needs the test PostgreSQL and Redis, and a built index):
    python -m bench.chaos [--random 50] [--points all] [--worker-share 0.3] [--index DIR]
Chosen points park `serve` at a named step (bot.faults) and kill it there; each random kill hits `serve`,
the worker or both (`--worker-share` of them involve the worker) after a random 0.05-3 s of traffic.
It prints, for the whole run, as counts and ratios: messages acked / answered (lost = acked but never
answered), duplicate "Thinking…" placeholders, approvals stuck after the recovery interval, double
executions, state changes without their audit entry, and `deskhand audit verify --anchor`. Exit status 1
when any of those is not zero/OK. Each lost event is named (`lost`: its ts, text, when it was posted and
acked, the thread's messages as the emulator holds them and the Web API calls made there), with the run's
kill `timeline`; `answered_while_settling` says how far into `--settle` each event unanswered when the final
processes started was answered. `--logs DIR` keeps the server's and worker's output.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any
from urllib.parse import urlencode

import aiohttp
import yaml
from sqlalchemy import func, select

from bench.chaos_report import answered_in, summarise
from bot.faults import POINTS
from channels.slack.actions import APPROVE
from graphs.governance.approval_tables import ApprovalRow
from tests.channels.slack.support import GENERAL, SIGNING_SECRET, click, event_callback, mention, sign
from tests.conftest import postgres_schema
from tests.emulators.slack_api import BOT_TOKEN, SlackApiEmulator
from tools.storage.db import build_engine, build_sessionmaker

ROOT = Path(__file__).resolve().parents[1]
READY = re.compile(r"listening on (http://\S+)")
APPROVAL_ID = re.compile(r"apr_[A-Za-z0-9_-]{10}")
QUESTIONS = [
    "how many PTO days do I get per year?",
    "when are vendor payment runs?",
    "how do I get VPN access?",
    "what is the expense limit for meals?",
]
HECTOR, CAROL, DAN = "U_HECTOR", "U_CAROL", "U_DAN"
AUDIT_KEY = "chaos-bench-audit-key-0123456789"
POST_TIMEOUT = aiohttp.ClientTimeout(total=3)  # Slack gives up on an ack after 3 s


def load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


@dataclass
class Event:
    body: dict[str, Any]
    acked: bool = False
    kind: str = "question"  # question | request
    posts: list[str] = field(default_factory=list)  # "<s since start> <retry> <HTTP status or error>"

    @property
    def ts(self) -> str:
        return str(self.body["event"]["ts"])


@dataclass
class Run:
    url: str = ""
    proc: subprocess.Popen[str] | None = None
    worker: subprocess.Popen[bytes] | None = None
    events: list[Event] = field(default_factory=list)
    clicks_sent: int = 0
    kills: Counter[str] = field(default_factory=Counter)
    restarts: list[float] = field(default_factory=list)
    began: float = field(default_factory=time.monotonic)
    log: list[str] = field(default_factory=list)  # "<s since start> kill/start …": to place a lost event
    settled: dict[str, str] = field(default_factory=dict)  # ts → s into the settle window it was answered


def unpaid_invoices() -> list[str]:
    data = yaml.safe_load((ROOT / "tools" / "sample_data" / "ledger.yaml").read_text(encoding="utf-8"))
    return [i["id"] for i in data["invoices"] if i["status"] == "approved" and float(i["amount"]) < 10_000]


def _drain(proc: subprocess.Popen[str], seen: list[str], logs: str) -> None:
    """Read the server's output to its end (so it never blocks on a full pipe), into `logs`/serve.log if set."""
    assert proc.stdout is not None
    if not logs:
        for _ in proc.stdout:
            pass
        return
    with open(Path(logs) / "serve.log", "a", encoding="utf-8") as out:
        out.write(f"--- serve pid {proc.pid}\n" + "".join(seen))
        for line in proc.stdout:
            out.write(line)
            out.flush()


def start(env: dict[str, str], fault: str = "", logs: str = "") -> tuple[subprocess.Popen[str], str, float]:
    began = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--port", "0"],
        env={**env, "DESKHAND_FAULT_POINTS": fault},
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    seen: list[str] = []
    for line in proc.stdout:
        seen.append(line)
        found = READY.search(line)
        if found:
            threading.Thread(target=_drain, args=(proc, seen, logs), daemon=True).start()
            return proc, found.group(1), time.monotonic() - began
    raise SystemExit("serve did not start:\n" + "".join(seen[-20:]))


def kill(run: Run) -> None:
    if run.proc is not None and run.proc.poll() is None:
        os.kill(run.proc.pid, signal.SIGKILL)
        run.proc.wait(timeout=30)
    run.proc = None


def start_worker(env: dict[str, str], logs: str = "") -> subprocess.Popen[bytes]:
    out = open(Path(logs) / "worker.log", "ab") if logs else subprocess.DEVNULL  # noqa: SIM115 (child holds it)
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "worker"],
            env={**env, "DESKHAND_FAULT_POINTS": ""},
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    finally:
        if logs:
            out.close()  # type: ignore[union-attr]


def kill_worker(run: Run) -> None:
    if run.worker is not None and run.worker.poll() is None:
        os.kill(run.worker.pid, signal.SIGKILL)
        run.worker.wait(timeout=30)
    run.worker = None


async def post_event(http: aiohttp.ClientSession, run: Run, event: Event, retry: int | None) -> None:
    body = json.dumps(event.body)
    headers = {"Content-Type": "application/json", **sign(body)}
    if retry:
        headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
    at = f"{time.monotonic() - run.began:.1f} retry={retry or 0}"
    try:
        async with http.post(f"{run.url}/slack/events", data=body, headers=headers, timeout=POST_TIMEOUT) as response:
            event.posts.append(f"{at} {response.status}")
            if response.status == 200:
                event.acked = True
    except (aiohttp.ClientError, TimeoutError) as e:
        event.posts.append(f"{at} {type(e).__name__}")  # down: Slack retries later


async def post_click(http: aiohttp.ClientSession, run: Run, user: str, approval_id: str, ts: str) -> None:
    payload = click(user, APPROVE, approval_id, channel=GENERAL, message_ts=ts, thread_ts=ts)
    body = urlencode({"payload": json.dumps(payload)})
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
    try:
        async with http.post(f"{run.url}/slack/events", data=body, headers=headers, timeout=POST_TIMEOUT):
            run.clicks_sent += 1
    except (aiohttp.ClientError, TimeoutError):
        pass


def answered(slack: SlackApiEmulator, event: Event) -> bool:
    """The report's judgement (a begun but unfinished stream is no answer), so the retries and the settle
    loop wait for what the report counts."""
    return answered_in(slack, event.ts)


def approvals_in(slack: SlackApiEmulator) -> dict[str, str]:
    """approval id → the thread it was posted in."""
    found: dict[str, str] = {}
    for call in slack.of("chat.postMessage"):
        text = json.dumps(call.params)
        for approval_id in APPROVAL_ID.findall(text):
            found.setdefault(approval_id, str(call.params.get("thread_ts") or ""))
    return found


async def traffic(http: aiohttp.ClientSession, run: Run, slack: SlackApiEmulator, invoices: list[str]) -> None:
    """One burst: new questions and hold requests, retries of unanswered events, clicks on open approvals."""
    for _ in range(3):
        event = Event(event_callback(mention("U_BOB", random.choice(QUESTIONS))))
        run.events.append(event)
        await post_event(http, run, event, None)
    if invoices:
        invoice = random.choice(invoices)
        event = Event(event_callback(mention(HECTOR, f"put a hold on invoice {invoice}")), kind="request")
        run.events.append(event)
        await post_event(http, run, event, None)
    for event in run.events:
        if not answered(slack, event):
            await post_event(http, run, event, random.randint(1, 3))  # Slack's retry of an unanswered one
    for approval_id, ts in approvals_in(slack).items():
        await post_click(http, run, random.choice((CAROL, DAN)), approval_id, ts or "0")


async def wait_marker(marker: Path, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await asyncio.to_thread(marker.exists):
            return True
        await asyncio.sleep(0.05)
    return False


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--random", type=int, default=50, help="random kill points (default 50)")
    parser.add_argument("--points", default="all", help="comma-separated chosen fault points, 'all' or 'none'")
    parser.add_argument("--index", default=os.environ.get("DESKHAND_INDEX_DIR", ".deskhand/index"))
    parser.add_argument(
        "--worker-share", type=float, default=0.3, help="share of random kills that hit the worker (default 0.3)"
    )
    parser.add_argument("--settle", type=float, default=60.0, help="seconds allowed for recovery at the end")
    parser.add_argument(
        "--logs", default="", help="append the server's and worker's output to DIR/serve.log, worker.log"
    )
    args = parser.parse_args()
    index_dir = str(ROOT / args.index) if not args.index.startswith("/") else args.index
    chosen = sorted(POINTS) if args.points == "all" else [p for p in args.points.split(",") if p and p != "none"]
    pg = os.environ.get("DESKHAND_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/deskhand_test")
    redis_url = os.environ.get("DESKHAND_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    slack = SlackApiEmulator()
    slack_url = await slack.start()
    run = Run()
    invoices = unpaid_invoices()
    random.shuffle(invoices)
    print(f"chaos: {len(chosen)} chosen points, {args.random} random kills; load {load()}", flush=True)
    with TemporaryDirectory() as tmp, postgres_schema(pg, "chaos") as db_url:
        data = Path(tmp) / "data"
        env = {
            **os.environ,
            "HF_HUB_OFFLINE": "1",
            "DATABASE_URL": db_url,
            "REDIS_URL": redis_url,
            "DESKHAND_DATA_DIR": str(data),
            "DESKHAND_INDEX_DIR": index_dir,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack_url,
            "DESKHAND_AUDIT_KEY": AUDIT_KEY,
            "DESKHAND_SWEEP_SECONDS": "1",
            "DESKHAND_RECOVERY_LEASE_SECONDS": "8",
            "DESKHAND_RECOVERY_GRACE_SECONDS": "3",
            "DESKHAND_LOG_LEVEL": "WARNING",
            "DESKHAND_JOB_SWEEP_SECONDS": "1",
        }
        # PostgreSQL is never migrated silently: apply the schema (ours, checkpoints, the job queue) once.
        await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "bot", "db", "upgrade"], env=env, cwd=ROOT, check=True
        )
        async with aiohttp.ClientSession() as http:
            plan = [("point", p) for p in chosen] + [("random", "") for _ in range(args.random)]
            share = args.worker_share
            for n, (how, point) in enumerate(plan, 1):
                if run.worker is None:  # the worker runs all along (approval recovery, expiry jobs)
                    run.worker = await asyncio.to_thread(start_worker, env, args.logs)
                took = 0.0
                if run.proc is None:
                    run.proc, run.url, took = await asyncio.to_thread(start, env, point, args.logs)
                    run.restarts.append(took)
                target = "serve"
                if how == "point":
                    marker = data / "faults" / point
                    marker.unlink(missing_ok=True)
                    hit = False
                    for _ in range(20):
                        await traffic(http, run, slack, invoices)
                        if await wait_marker(marker, within=3.0):
                            hit = True
                            break
                    run.kills[point if hit else f"{point} (not reached)"] += 1
                else:
                    await traffic(http, run, slack, invoices)
                    await asyncio.sleep(random.uniform(0.05, 3.0))
                    target = random.choices(("serve", "worker", "both"), (1 - share, share / 2, share / 2))[0]
                    run.kills[f"random {target}"] += 1
                if target in ("serve", "both"):
                    kill(run)
                if target in ("worker", "both"):
                    kill_worker(run)
                up = f"serve start-up {took:.1f}s" if took else "serve kept running"
                line = f"kill {n}/{len(plan)}: {target} at {point or 'random'} ({up}; load {load()})"
                run.log.append(f"{time.monotonic() - run.began:.1f} {line}")
                print(f"  {line}", flush=True)
            # Final processes: no faults; Slack keeps retrying unanswered events until recovery settles. On
            # PostgreSQL approval recovery is a job, so the worker runs beside the server.
            kill(run)
            if run.worker is None:
                run.worker = await asyncio.to_thread(start_worker, env, args.logs)
            run.proc, run.url, took = await asyncio.to_thread(start, env, "", args.logs)
            run.log.append(f"{time.monotonic() - run.began:.1f} final serve up (start-up {took:.1f}s), settling")
            settle_began = time.monotonic()
            deadline = settle_began + args.settle
            engine = build_engine(db_url)
            sessions = build_sessionmaker(engine)
            waiting = {e.ts for e in run.events if e.acked and not answered(slack, e)}
            while time.monotonic() < deadline:
                await traffic(http, run, slack, [])
                lost = [e for e in run.events if e.acked and not answered(slack, e)]
                now = f"{time.monotonic() - settle_began:.1f}"
                run.settled |= {e.ts: now for e in run.events if e.ts in waiting and e.ts not in run.settled}
                run.settled = {ts: at for ts, at in run.settled.items() if ts not in {e.ts for e in lost}}
                with sessions() as s:
                    stuck = s.execute(
                        select(func.count()).where(ApprovalRow.status.in_(("approved", "executing")))
                    ).scalar_one()
                if not lost and not stuck:
                    break
                await asyncio.sleep(2.0)
            verify = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "bot", "audit", "verify", "--anchor", str(data / "audit-anchor.jsonl")],
                env={**env, "DESKHAND_FAULT_POINTS": ""},
                capture_output=True,
                text=True,
                cwd=ROOT,
                check=False,
            )
            kill(run)
            kill_worker(run)
            report = summarise(run, slack, sessions, verify)
            engine.dispose()
    await slack.stop()
    print(json.dumps(report, indent=2))
    bad = report["lost_messages"] or report["stuck_approvals"] or report["double_executions"]
    return 1 if bad or report["audit_gaps"] or not report["audit_verify_ok"] else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
