"""A fault-injection hook for crash tests: park the work at a named point so a test can kill the process there."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path

log = logging.getLogger(__name__)

Fault = Callable[[str, str], Awaitable[None]]
# Every point the code offers (the crash tests choose among them).
POINTS = frozenset(
    {
        "turn.after_accept",  # a Slack event was persisted and acked; nothing else happened yet
        "turn.after_lock",  # the conversation is locked (its stream begun), the answer not yet produced
        "turn.after_answer",  # the answer exists and is saved, not yet shown
        "approval.after_create",  # the approval request committed, nobody was told yet
        "decide.after_commit",  # the approving decision committed, the action has not started
        "execute.before_tool",  # the execution was claimed, the tool not yet called
        "execute.after_tool",  # the tool ran, its result not yet recorded
    }
)


def build_fault_hook(points: Iterable[str], marker_dir: Path) -> Fault | None:
    """None unless `points` names some: then work reaching one of them writes `marker_dir/<point>` (with
    the id it was working on) and waits forever — a breakpoint for `kill -9`. Unknown names are refused."""
    wanted = frozenset(p for p in points if p)
    if not wanted:
        return None
    unknown = wanted - POINTS
    if unknown:
        raise ValueError(f"unknown fault points: {', '.join(sorted(unknown))} (known: {', '.join(sorted(POINTS))})")
    marker_dir.mkdir(parents=True, exist_ok=True)
    log.warning("fault injection armed at %s: work parks there (tests only)", ", ".join(sorted(wanted)))

    async def park(point: str, ident: str) -> None:
        if point not in wanted:
            return
        (marker_dir / point).write_text(ident, encoding="utf-8")
        await asyncio.Event().wait()  # parked until the process is killed

    return park
