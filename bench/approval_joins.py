"""Benchmark: what one-request-one-approval costs when an approval is requested, and how fast an identical
request joins, on SQLite or PostgreSQL.

  python bench/approval_joins.py [--url postgresql://…] [--n 200]

Prints p50/p95 ms of (1) `ApprovalStore.create` alone, (2) the same through `ApprovalJoins.request`
(digest claim in the same transaction), (3) an identical request joining the pending one, and (4) reading
the pending approvals the way "what's waiting for me?" does (500 at most) with `--n` of them pending.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.cli_db import upgrade  # noqa: E402
from graphs.governance.approval_joins import ApprovalJoins  # noqa: E402
from graphs.governance.approvals import ApprovalStore  # noqa: E402
from graphs.governance.audit import AuditLog  # noqa: E402
from tools.storage.db import build_engine, build_sessionmaker  # noqa: E402


def _args(i: int, who: str) -> dict[str, Any]:
    return {
        "tool": "hold_payment",
        "args": {"invoice_id": f"INV-{i:05d}"},
        "requester": who,
        "channel": "local",
        "conversation_ref": {"conversation": who},
        "rule_id": "bench",
        "mode": "approve",
        "reason": "bench",
        "approvers": ["lead@example.com"],
        "required": 1,
        "expires_at": datetime.now(UTC) + timedelta(hours=1),
    }


def _timed(fn: Callable[[], object], n: int) -> tuple[float, float]:
    took = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        took.append((time.perf_counter() - start) * 1000)
    took.sort()
    return statistics.median(took), took[max(0, int(len(took) * 0.95) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--n", type=int, default=200)
    opts = parser.parse_args()
    url = opts.url or f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite"
    upgrade(url)
    engine = build_engine(url)
    sessions = build_sessionmaker(engine)
    store = ApprovalStore(sessions, AuditLog(sessions))
    joins = ApprovalJoins(store)
    plain, claimed, joined = iter(range(opts.n)), iter(range(opts.n, 2 * opts.n)), iter(range(opts.n, 2 * opts.n))
    rows = {
        "create": _timed(lambda: store.create(**_args(next(plain), "a@example.com")), opts.n),
        "create + digest claim": _timed(lambda: joins.request(**_args(next(claimed), "a@example.com")), opts.n),
        "identical request joins": _timed(lambda: joins.request(**_args(next(joined), "b@example.com")), opts.n),
        f"read pending ({2 * opts.n})": _timed(lambda: store.list("pending", 500), 20),
    }
    print(f"{engine.dialect.name}, n={opts.n}")
    for name, (p50, p95) in rows.items():
        print(f"  {name:<28} p50 {p50:6.1f} ms   p95 {p95:6.1f} ms")
    engine.dispose()


if __name__ == "__main__":
    main()
