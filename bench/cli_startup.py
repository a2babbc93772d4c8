"""Wall-clock time of quick CLI commands in fresh processes (p50/p95 over several runs; target < 1 s each).

    python bench/cli_startup.py [--runs 7]

Uses a throw-away data directory (SQLite) so the figures do not depend on local state; the first run of
each command (which creates and migrates the database) is a warm-up and is not counted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = [
    ["--help"],
    ["config"],
    ["index", "status"],
    ["approvals", "list"],
    ["approvals", "show", "apr_missing"],
    ["approvals", "decide", "apr_missing", "--as", "alice.nguyen@example.com", "--approve"],
    ["audit", "verify"],
    ["audit", "tail", "-n", "5"],
]


def _time(args: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "bot", *args], env=env, cwd=cwd, capture_output=True, timeout=300)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DESKHAND_DATA_DIR": str(Path(tmp) / "data"),
            "DESKHAND_CACHE_DIR": str(Path(tmp) / "cache"),
        }
        for name in ("DATABASE_URL", "REDIS_URL"):
            env.pop(name, None)
        print(f"load average before: {os.getloadavg()[0]:.2f}; {args.runs} runs per command (+1 warm-up)")
        print(f"{'command':<48} {'p50 s':>7} {'p95 s':>7} {'max s':>7}")
        for command in COMMANDS:
            _time(command, env, Path(tmp))
            times = sorted(_time(command, env, Path(tmp)) for _ in range(args.runs))
            p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
            label = " ".join(command)[:48]
            print(f"{label:<48} {statistics.median(times):>7.2f} {p95:>7.2f} {times[-1]:>7.2f}")
        print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
