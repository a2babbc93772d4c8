"""Wall-clock time of the quick CLI commands in fresh processes, against issue 9's goal of < 1 s each.

    python bench/cli_startup.py [--runs 7]

For each command: p50, p95 and max over `--runs` fresh processes, p95 as a ratio of the 1 s goal (at most
1.00 meets it), and the median CPU time (user + system) of one process, which a busy machine inflates far
less than the wall clock. Uses a throw-away data directory (SQLite) holding one pending approval, so the
figures do not depend on local state; one warm-up run creates the database first and is not counted. The
load average is printed before and after: on a shared machine, compare figures taken at similar load.
`approvals decide` of an existing approval opens the agent (the decision may run the action) and is shown
for reference, without a goal.
"""

from __future__ import annotations

import argparse
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
REFERENCE = [["approvals", "decide", "apr_bench", "--as", "nobody@example.com", "--approve"]]


def _time(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(wall-clock seconds, CPU seconds user+system) of one fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "bot", *args], env=env, cwd=cwd, capture_output=True, timeout=300)
    wall = time.perf_counter() - started
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


def _row(command: list[str], env: dict[str, str], cwd: Path, runs: int, goal: bool) -> None:
    measured = [_time(command, env, cwd) for _ in range(runs)]
    times = sorted(wall for wall, _ in measured)
    cpu = statistics.median(c for _, c in measured)
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    label = " ".join(command)[:50]
    ratio = f"{p95 / GOAL_S:>6.2f}" if goal else "     –"
    print(f"{label:<50} {statistics.median(times):>6.2f} {p95:>6.2f} {times[-1]:>6.2f} {ratio} {cpu:>6.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
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
        _time(["audit", "verify"], env, Path(tmp))  # warm-up: creates and migrates the database
        _seed(data)
        print(f"load average before: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs); {args.runs} runs per command")
        print(f"{'command':<50} {'p50 s':>6} {'p95 s':>6} {'max s':>6} {'p95/1s':>6} {'cpu s':>6}")
        for command in COMMANDS:
            _row(command, env, Path(tmp), args.runs, goal=True)
        print("reference (opens the agent; no goal):")
        for command in REFERENCE:
            _row(command, env, Path(tmp), max(1, args.runs // 3), goal=False)
        print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
