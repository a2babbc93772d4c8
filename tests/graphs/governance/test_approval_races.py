"""The approval store under races: simultaneous clicks from threads and from separate processes decide
once and run once."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TypeVar

import pytest

from graphs.governance.approvals import ApprovalStore, DecisionResult
from tests.graphs.governance.approval_support import (
    CAROL,
    DAN,
    KATE,
    NOW,
    ROOT,
    four_eyes,
    make,
)

T = TypeVar("T")


def race(calls: list[Callable[[], T]]) -> list[T]:
    """Run every call at once from its own thread (released together by a barrier)."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], T]) -> T:
        barrier.wait(timeout=30)
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


@pytest.mark.parametrize("mode", ["approve", "four_eyes"])
def test_concurrent_clicks_decide_once_and_run_once(store: ApprovalStore, mode: str) -> None:
    for _round in range(4):
        a = four_eyes(store) if mode == "four_eyes" else make(store)
        clicks = [CAROL, DAN, CAROL, DAN, CAROL, DAN]  # two approvers, each double-clicking
        results: list[DecisionResult] = race([partial(store.decide, a.id, who, True, now=NOW) for who in clicks])
        assert [r.became for r in results].count("approved") == 1
        accepted = [clicks[i] for i, r in enumerate(results) if r.accepted]
        final = store.get(a.id)
        assert final is not None and final.status == "approved"
        if mode == "four_eyes":
            assert sorted(accepted) == [CAROL, DAN] and sorted(final.approved_by) == [CAROL, DAN]
        else:
            assert len(accepted) == 1 and final.approved_by == tuple(accepted)
        claims = race([partial(store.claim_execution, a.id, a.args_digest)] * 6)
        assert claims.count(True) == 1


def test_concurrent_approve_and_reject_settle_on_one_outcome(store: ApprovalStore) -> None:
    for _round in range(4):
        a = make(store)
        results = race(
            [partial(store.decide, a.id, CAROL, True, now=NOW), partial(store.decide, a.id, DAN, False, now=NOW)]
        )
        became = [r.became for r in results if r.became]
        assert len(became) == 1
        assert store.get(a.id).status == became[0]  # type: ignore[union-attr]


CHILD = """
import json, sys, time
from pathlib import Path
from datetime import datetime, UTC
from tools.storage.db import build_engine, build_sessionmaker
from graphs.governance.approvals import ApprovalStore, DecisionResult
url, approval_id, who, go, ready = sys.argv[1:6]
store = ApprovalStore(build_sessionmaker(build_engine(url)))
store.get(approval_id)  # connect before the start signal
Path(ready).touch()
deadline = time.monotonic() + 60
while not Path(go).exists() and time.monotonic() < deadline:
    time.sleep(0.001)
r = store.decide(approval_id, who, True, now=datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
claimed = store.claim_execution(approval_id, r.approval.args_digest) if r.approval else False
print(json.dumps({"accepted": r.accepted, "became": r.became, "claimed": claimed}))
"""


def wait_for(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_concurrent_decisions_from_separate_processes(db_url: str, store: ApprovalStore, tmp_path: Path) -> None:
    a = four_eyes(store)
    go = tmp_path / "go"
    clicks = (CAROL, DAN, KATE, CAROL)
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, db_url, a.id, who, str(go), str(tmp_path / f"ready{i}")],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for i, who in enumerate(clicks)
    ]
    wait_for(lambda: all((tmp_path / f"ready{i}").exists() for i in range(len(clicks))))
    go.touch()  # all start deciding at once
    outputs = [json.loads(child.communicate(timeout=120)[0]) for child in children]
    assert all(child.returncode == 0 for child in children)
    assert [o["became"] for o in outputs].count("approved") == 1
    assert [o["claimed"] for o in outputs].count(True) == 1
    assert store.get(a.id).status == "executing"  # type: ignore[union-attr]
