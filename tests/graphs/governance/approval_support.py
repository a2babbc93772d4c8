"""Shared by the approval store tests: the people, a sample request, and how to make one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from graphs.governance.approval_tables import ApprovalDecisionRow
from graphs.governance.approvals import Approval, ApprovalStore

BOB, CAROL, DAN = "bob.martin@example.com", "carol.diaz@example.com", "dan.okafor@example.com"
KATE, IVY = "kate.novak@example.com", "ivy.chen@example.com"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOLD = {"invoice_id": "INV-10077", "reason": "Duplicate invoice"}
ROOT = Path(__file__).resolve().parents[3]


def make(
    store: ApprovalStore,
    *,
    mode: str = "approve",
    approvers: tuple[str, ...] = (CAROL, DAN),
    required: int = 1,
    requester: str = BOB,
    args: dict[str, Any] | None = None,
    facts: dict[str, Any] | None = None,
    ttl: timedelta = timedelta(hours=24),
) -> Approval:
    return store.create(
        tool="hold_payment",
        args=HOLD if args is None else args,
        requester=requester,
        rule_id="hold-payment-large" if mode == "four_eyes" else "hold-payment",
        mode=mode,
        reason="Payment holds over $10,000 need two AP leads.",
        approvers=approvers,
        required=required,
        channel="slack",
        conversation_ref={"channel": "C123", "thread_ts": "1700000000.000100"},
        thread_id="slack:C123:1700000000.000100",
        ttl=ttl,
        facts=facts,
        title="Put invoice INV-10077 on payment hold",
        policy_version="abc123def456",
        now=NOW,
    )


def four_eyes(store: ApprovalStore, **kw: Any) -> Approval:
    return make(store, mode="four_eyes", required=2, approvers=(CAROL, DAN, KATE), **kw)


def decision_rows(sessions: sessionmaker[Session], approval_id: str) -> int:
    with sessions() as s:
        query = select(func.count()).where(ApprovalDecisionRow.approval_id == approval_id)
        return int(s.execute(query).scalar_one())
