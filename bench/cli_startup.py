"""Wall-clock time of the quick CLI commands in fresh processes, against issue 9's goal of < 1 s each.

    python bench/cli_startup.py [--runs 7]

For each command: p50, p95 and max over `--runs` fresh processes, p95 as a ratio of the 1 s goal (at most
1.00 meets it), and the median CPU time (user + system) of one process, which a busy machine inflates far
less than the wall clock. Uses a throw-away data directory (SQLite) holding one pending approval, so the
figures do not depend on local state; one warm-up run creates the database first and is not counted. The
load average is printed before and after: on a shared machine, compare figures taken at similar load.

The project's modules are byte-compiled first (into their `__pycache__` folders, as `pip install` does for an
installed package), and PYTHONDONTWRITEBYTECODE is dropped for the timed processes: otherwise every process
compiles each of our modules from source again. `--source` times that case.

`approvals decide` is timed on real pending approvals (payment holds), a fresh one per run, created as the
agent creates them (the policy's approvers, bound to the facts it saw): a rejection and a first of two
approvals (a hold over $10,000 needs two AP leads), and an approval that completes a request (a smaller
hold, one AP lead), which runs the hold.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_S = 1.0
COMMANDS = [
    ["--help"],
    ["config"],
    ["index", "status"],
    ["approvals", "list"],
    ["approvals", "list", "--status", "all", "--json"],
    ["approvals", "show", "apr_bench"],
    ["approvals", "decide", "apr_missing", "--as", "alice.nguyen@example.com", "--approve"],
    ["audit", "verify"],
    ["audit", "tail", "-n", "5"],
]
DECISIONS = ("reject", "first of two", "completes")
PACKAGES = ("bot", "channels", "graphs", "knowledge", "tools")  # what the CLI imports of ours


def _time(args: list[str], env: dict[str, str], cwd: Path, expect: str = "") -> tuple[float, float]:
    """(wall-clock seconds, CPU seconds user+system) of one fresh process; with `expect`, its JSON output
    must report that approval status (a decision that did not happen is not timed as one)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bot", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )
    wall = time.perf_counter() - started
    if expect and json.loads(done.stdout or "{}").get("status") != expect:
        raise SystemExit(f"{' '.join(args)}: expected status {expect}, got {done.stdout.strip()} {done.stderr.strip()}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _seed(data_dir: Path) -> None:
    """One pending approval `apr_bench`, so `show` and `list` print something real."""
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import text

    from graphs.governance.approvals import ApprovalStore
    from tools.storage.db import build_engine, build_sessionmaker

    engine = build_engine(f"sqlite:///{data_dir / 'deskhand.db'}")
    try:
        approval = ApprovalStore(build_sessionmaker(engine)).create(
            tool="hold_payment",
            args={"invoice_id": "INV-10042", "reason": "bench"},
            requester="frank.li@example.com",
            rule_id="bench",
            mode="approve",
            reason="bench",
            approvers=["dan.kim@example.com"],
            required=1,
            channel="local",
            conversation_ref={},
            ttl=timedelta(days=1),
        )
        with engine.begin() as conn:
            conn.execute(text("update approvals set id = 'apr_bench' where id = :id"), {"id": approval.id})
    finally:
        engine.dispose()


async def _pending_holds(data_dir: Path, runs: int) -> dict[str, list[list[str]]]:
    """For each kind of decision, one `approvals decide` command line per run, on its own pending hold."""
    from bot.settings import DEFAULT_SAMPLE_DATA
    from tests.sample_world import sample_world
    from tools.ledger_data import load_ledger_data

    commands: dict[str, list[list[str]]] = {kind: [] for kind in DECISIONS}
    requester = "hector.ruiz@example.com"  # an AP clerk
    async with sample_world(data_dir) as world:
        ledger = load_ledger_data(DEFAULT_SAMPLE_DATA / "ledger.yaml")
        # A hold the policy gives to two approvers (rejected, or approved once: it never runs), and holds
        # that one approval completes, a different invoice per run (each runs once: the invoice goes on hold).
        four_eyes: list[str] = []
        single: list[str] = []
        for invoice in (i.id for i in ledger.invoices if i.status == "approved"):
            _, req = await world.requirement("hold_payment", {"invoice_id": invoice, "reason": "bench"}, requester)
            (four_eyes if req.required >= 2 else single).append(invoice)
        if not four_eyes or len(single) < runs:
            raise SystemExit(f"the sample ledger has {len(single)} invoices one approval completes: use fewer --runs")
        for n in range(runs):
            for kind in DECISIONS:
                invoice = single[n] if kind == "completes" else four_eyes[0]
                args = {"invoice_id": invoice, "reason": f"bench {kind} {n}"}
                approval, req = await world.request(
                    "hold_payment", args, requester, conversation="bench", ttl=timedelta(days=1)
                )
                first, *others = req.approvers
                decider = first
                if kind == "completes":  # all but the last approval given already
                    for approver in (first, *others)[: req.required - 1]:
                        assert world.store.decide(approval.id, approver, True).accepted
                    decider = others[req.required - 2]
                verdict = ["--reject", "--reason", "bench"] if kind == "reject" else ["--approve"]
                commands[kind].append(["approvals", "decide", approval.id, "--as", decider, *verdict])
    return commands


def _row(
    commands: list[list[str]], env: dict[str, str], cwd: Path, goal: bool, label: str = "", expect: str = ""
) -> None:
    measured = []
    for command in commands:
        measured.append(_time(command, env, cwd, expect))
    times = sorted(wall for wall, _ in measured)
    cpu = statistics.median(c for _, c in measured)
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    label = (label or " ".join(commands[0]))[:50]
    ratio = f"{p95 / GOAL_S:>6.2f}" if goal else "     –"
    print(f"{label:<50} {statistics.median(times):>6.2f} {p95:>6.2f} {times[-1]:>6.2f} {ratio} {cpu:>6.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--source", action="store_true", help="no byte-compiled modules: compile at every start")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DESKHAND_DATA_DIR": str(data),
            "DESKHAND_CACHE_DIR": str(Path(tmp) / "cache"),
        }
        for name in ("DATABASE_URL", "REDIS_URL"):
            env.pop(name, None)
        if args.source:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        else:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            packages = [str(ROOT / name) for name in PACKAGES]
            subprocess.run([sys.executable, "-m", "compileall", "-q", *packages], env=env, check=True)
        _time(["audit", "verify"], env, Path(tmp))  # warm-up: creates and migrates the database
        _seed(data)
        decisions = asyncio.run(_pending_holds(data, args.runs))
        compiled = "modules compiled at every start" if args.source else "byte-compiled modules"
        print(f"load average before: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs); {args.runs} runs per command")
        print(f"{compiled}; {sys.version.split()[0]} {os.uname().machine}")
        print(f"{'command':<50} {'p50 s':>6} {'p95 s':>6} {'max s':>6} {'p95/1s':>6} {'cpu s':>6}")
        for command in COMMANDS:
            _row([command] * args.runs, env, Path(tmp), goal=True)
        expected = {"reject": "rejected", "first of two": "pending", "completes": "executed"}
        for kind in DECISIONS:
            label = f"approvals decide (a pending hold: {kind})"
            _row(decisions[kind], env, Path(tmp), goal=True, label=label, expect=expected[kind])
        print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
