"""A conversation lock whose holder is killed (`kill -9`, no release) lapses within its short hold time, so
recovery of that holder's turn is not held up for the lock's whole `timeout_s`; a live holder keeps it by
renewing. Real Redis, and a real process killed while holding the lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from channels.coordination import LockTimeout, build_coordinator, new_namespace

REDIS_URL = os.environ.get("DESKHAND_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
ROOT = Path(__file__).resolve().parents[2]
HOLDER = textwrap.dedent(
    """
    import asyncio, sys
    from channels.coordination import build_coordinator

    async def main():
        coord = build_coordinator(sys.argv[1], namespace=sys.argv[2], hold_ttl_s=1.0)
        async with coord.lock("conv:crash", timeout_s=120):
            print("held", flush=True)
            await asyncio.Event().wait()  # a turn in progress, until the process is killed

    asyncio.run(main())
    """
)


async def test_the_lock_of_a_killed_holder_lapses_within_its_hold_time() -> None:
    ns = new_namespace("test")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, REDIS_URL, ns], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    coord = build_coordinator(REDIS_URL, namespace=ns)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(LockTimeout):  # held (and renewed) while the holder lives: 3 hold times
            async with coord.lock("conv:crash", timeout_s=3):
                pass
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=30)
        # Before, the dead holder's lock lived its whole timeout_s (120 s): this wait gave up.
        async with coord.lock("conv:crash", timeout_s=5):
            pass
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(timeout=30)
        await coord.close()


async def test_a_live_holder_keeps_the_lock_past_its_hold_time() -> None:
    ns = new_namespace("test")
    first = build_coordinator(REDIS_URL, namespace=ns, hold_ttl_s=0.3)
    second = build_coordinator(REDIS_URL, namespace=ns, hold_ttl_s=0.3)
    try:
        async with first.lock("conv:long", timeout_s=30):
            with pytest.raises(LockTimeout):  # five hold times later the first still has it
                async with second.lock("conv:long", timeout_s=1.5):
                    pass
        async with second.lock("conv:long", timeout_s=1):  # released on leaving
            pass
    finally:
        await first.close()
        await second.close()
