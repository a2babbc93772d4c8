"""Cross-checks the audit log against the approval records: every state change must have its entry."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from graphs.governance.approval_tables import ApprovalDecisionRow, ApprovalRow
from graphs.governance.audit import AuditRow

_KINDS = ("approval_requested", "approval_decision", "execution")


def find_gaps(sessions: sessionmaker[Session], limit: int = 50) -> list[str]:
    """Sentences naming approval state changes that have no audit entry (at most `limit`)."""
    seen: Counter[tuple[str, ...]] = Counter()
    with sessions() as session:
        for kind, actor, body in session.execute(
            select(AuditRow.kind, AuditRow.actor, AuditRow.payload).where(AuditRow.kind.in_(_KINDS))
        ):
            for key in _keys(kind, actor, _load(body)):
                seen[key] += 1
        decisions: dict[str, list[tuple[str, bool]]] = {}
        for d in session.execute(select(ApprovalDecisionRow)).scalars():
            decisions.setdefault(d.approval_id, []).append((d.approver, d.approve))
        gaps: list[str] = []
        for row in session.execute(select(ApprovalRow).order_by(ApprovalRow.created_at)).scalars():
            gaps.extend(_gaps_of(row, decisions.get(row.id, []), seen))
            if len(gaps) >= limit:
                break
    return gaps[:limit]


def _load(body: str) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _keys(kind: str, actor: str, p: dict[str, Any]) -> list[tuple[str, ...]]:
    approval = str(p.get("approval_id") or "")
    if not approval:
        return []
    if kind == "approval_requested":
        return [("requested", approval)]
    if kind == "approval_decision":
        keys: list[tuple[str, ...]] = []
        if p.get("became") in ("expired", "cancelled"):
            keys.append((str(p["became"]), approval))
        if p.get("accepted"):
            keys.append(("decided", approval, actor, str(bool(p.get("approve")))))
        return keys
    phase = str(p.get("phase") or "")
    return [(phase, approval)] if phase in ("started", "finished", "abandoned") else []


def _gaps_of(row: ApprovalRow, decisions: list[tuple[str, bool]], seen: Counter[tuple[str, ...]]) -> list[str]:
    gaps = []
    if not seen[("requested", row.id)]:
        gaps.append(f"approval {row.id} has no 'approval_requested' entry")
    for approver, approve in decisions:
        if not seen[("decided", row.id, approver, str(approve))]:
            gaps.append(f"approval {row.id}: the decision by {approver} has no audit entry")
    if row.status in ("expired", "cancelled") and not seen[(row.status, row.id)]:
        gaps.append(f"approval {row.id} is {row.status} without an audit entry saying so")
    abandoned = seen[("abandoned", row.id)] > 0
    if (row.attempts or 0) > seen[("started", row.id)]:
        gaps.append(f"approval {row.id}: {row.attempts} execution attempt(s) but fewer 'started' entries")
    if row.status == "executed" and not seen[("finished", row.id)]:
        gaps.append(f"approval {row.id} is executed without an 'execution' entry")
    if row.status == "failed" and not (abandoned or seen[("finished", row.id)]):
        gaps.append(f"approval {row.id} is failed without an 'execution' entry")
    return gaps
