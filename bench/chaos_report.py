"""The figures `bench/chaos.py` prints after its kills: counts and ratios of lost messages, duplicate
placeholders, stuck approvals, double executions and state changes without their audit entry."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections import Counter
from typing import Any

from sqlalchemy import func, select

from channels.core import wording
from graphs.governance.approvals import ApprovalDecisionRow, ApprovalRow
from graphs.governance.audit import AuditRow
from graphs.governance.audit_check import find_gaps
from tests.channels.slack.support import GENERAL
from tests.emulators.slack_api import SlackApiEmulator


def ratio(part: int, whole: int) -> str:
    return f"{part}/{whole} = {part / whole:.3f}" if whole else f"{part}/0"


def answered_in(slack: SlackApiEmulator, ts: str) -> bool:
    """A reply other than the placeholder, and not a stream that was begun but never finished."""
    return any("Thinking" not in json.dumps(m) and not m.get("streaming") for m in slack.thread(GENERAL, ts))


def _placeholders(slack: SlackApiEmulator, ts: str) -> int:
    """ "Thinking…" posts plus begun streams (a stream takes the placeholder's place where Slack has them)."""
    thinking = sum(1 for c in slack.posts(GENERAL, ts) if wording.THINKING in str(c.params.get("text", "")))
    streams = sum(1 for c in slack.of("chat.startStream") if c.params.get("thread_ts") == ts)
    return thinking + streams


def _short(text: Any, limit: int = 160) -> str:
    text = str(text or "")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _lost(run: Any, slack: SlackApiEmulator, event: Any) -> dict[str, Any]:
    """What a lost event was and what its thread holds: the emulator's messages and the calls made there."""
    messages = [
        {k: m.get(k) for k in ("ts", "streaming", "updates") if k in m} | {"text": _short(m.get("text"))}
        for m in slack.thread(GENERAL, event.ts)
    ]
    calls = [
        f"{c.at - run.began:.1f} {c.method}{'' if c.ok else ' (failed)'}"
        for c in slack.calls
        if event.ts in (c.params.get("thread_ts"), c.params.get("ts"))
        or c.params.get("ts") in {m["ts"] for m in messages}
    ]
    return {
        "ts": event.ts,
        "kind": event.kind,
        "text": _short(event.body["event"].get("text")),
        "posts": getattr(event, "posts", 0),
        "thread": messages,
        "calls": calls,
    }


def summarise(run: Any, slack: SlackApiEmulator, sessions: Any, verify: subprocess.CompletedProcess[str]) -> dict:
    """`run` is bench.chaos.Run (events with `.acked`/`.ts`, kills, restarts, clicks)."""
    acked = [e for e in run.events if e.acked]
    threads = sorted({e.ts for e in acked})
    lost = [e for e in acked if not answered_in(slack, e.ts)]
    duplicated = [ts for ts in threads if _placeholders(slack, ts) > 1]
    with sessions() as s:
        statuses = Counter(s.execute(select(ApprovalRow.status)).scalars())
        decisions = s.execute(select(func.count()).select_from(ApprovalDecisionRow)).scalar_one()
        finished = Counter(
            json.loads(p).get("approval_id")
            for p in s.execute(select(AuditRow.payload).where(AuditRow.kind == "execution")).scalars()
            if json.loads(p).get("phase") == "finished"
        )
    approvals = sum(statuses.values())
    executed = statuses.get("executed", 0) + statuses.get("failed", 0)
    stuck = statuses.get("approved", 0) + statuses.get("executing", 0)
    doubles = sorted(a for a, n in finished.items() if n > 1)
    gaps = find_gaps(sessions, limit=10_000)
    # Each approval is one request; each decision row one decision; each finished execution one execution.
    state_changes = approvals + decisions + executed
    return {
        "kills": dict(run.kills),
        "kills_total": sum(run.kills.values()),
        "restart_seconds_p50": sorted(run.restarts)[len(run.restarts) // 2] if run.restarts else None,
        "events_sent": len(run.events),
        "events_acked": len(acked),
        "lost_messages": len(lost),
        "lost_ratio": ratio(len(lost), len(acked)),
        "lost": [_lost(run, slack, e) for e in lost],
        "timeline": run.log if lost else [],
        "answered_while_settling": run.settled,  # unanswered when the final processes started: when answered
        "duplicate_placeholders": len(duplicated),
        "duplicate_placeholder_ratio": ratio(len(duplicated), len(threads)),
        "clicks_sent": run.clicks_sent,
        "approvals_by_status": dict(statuses),
        "stuck_approvals": stuck,
        "stuck_ratio": ratio(stuck, approvals),
        "double_executions": len(doubles),
        "double_execution_ratio": ratio(len(doubles), executed),
        "audit_gaps": gaps,
        "missing_audit_ratio": ratio(len(gaps), state_changes),
        "audit_verify_ok": verify.returncode == 0,
        "audit_verify": (verify.stdout + verify.stderr).strip().splitlines()[:3],
        "load_average": " ".join(f"{v:.2f}" for v in os.getloadavg()),
        "run_id": uuid.uuid4().hex[:8],
    }
