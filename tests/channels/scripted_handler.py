"""A scripted `TurnHandler` standing in for the agent in channel tests (Slack and Teams).

It also plays the agent core's part after a decision: it refreshes every remembered approval
message through the channel outboxes and notifies the requester, as the real wiring will.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from channels.base import (
    ApprovalStatus,
    ApprovalView,
    ChannelOutbox,
    Decision,
    DecisionOutcome,
    HomeView,
    InboundMessage,
    MessageRef,
    Reply,
    SourceRef,
)

PEOPLE = frozenset(
    f"{first}.{last}@example.com"
    for first, last in (
        ("alice", "nguyen"),
        ("bob", "martin"),
        ("carol", "diaz"),
        ("dan", "okafor"),
        ("erin", "walsh"),
        ("frank", "li"),
        ("grace", "kim"),
        ("hector", "ruiz"),
        ("ivy", "chen"),
        ("jamal", "brooks"),
        ("kate", "novak"),
        ("liam", "murphy"),
        ("maya", "patel"),
        ("noah", "schmidt"),
        ("olivia", "rossi"),
        ("priya", "shah"),
        ("sam", "taylor"),
        ("tom", "becker"),
    )
)
AP_LEADS = ("carol.diaz@example.com", "dan.okafor@example.com")
BANK_APPROVERS = ("carol.diaz@example.com", "dan.okafor@example.com", "kate.novak@example.com")

KNOWLEDGE_TEXT = (
    "To get VPN access, ask for membership of the **vpn-users** group [1]. "
    "Your manager approves it & IT adds you within a day [2]."
)
CITATIONS = (
    SourceRef(1, "VPN access", "it/vpn.md", "Requesting access", 0.82, "https://wiki.example.com/it/vpn"),
    SourceRef(2, "IT handbook", "it/handbook.md", "Accounts", 0.64),
)
CLOSED = ("approved", "rejected", "expired", "executed", "failed", "cancelled")


class ScriptedHandler:
    """Answers by keyword; decides approvals with the real rules (eligibility, no self-approval,
    once only, four eyes, expiry) under a lock, counting executions."""

    def __init__(self, *, approval_ttl: timedelta = timedelta(hours=4), work_s: float = 0.0) -> None:
        self.outboxes: dict[str, ChannelOutbox] = {}
        self.turns: list[InboundMessage] = []
        self.approvals: dict[str, ApprovalView] = {}
        self.refs: dict[str, list[MessageRef]] = {}
        self.origins: dict[str, dict[str, Any]] = {}  # approval id → requester's channel + conversation_ref
        self.executions: list[str] = []
        self.feedback_calls: list[tuple[str, str | None, bool]] = []
        self.feedback_details: list[dict[str, Any]] = []
        self.decide_calls = 0
        self.may_decide_calls = 0
        self.home_calls: list[str] = []
        self.active: dict[str, int] = {}
        self.max_active: dict[str, int] = {}
        self.total_active = 0
        self.peak_total = 0  # turns running at once, across conversations
        self._approval_ttl = approval_ttl
        self._work_s = work_s
        self._lock = asyncio.Lock()
        self._ids = itertools.count(1)

    def add_outbox(self, outbox: ChannelOutbox) -> None:
        self.outboxes[outbox.name] = outbox

    async def handle(self, message: InboundMessage) -> Reply:
        key = message.conversation_key
        self.active[key] = self.active.get(key, 0) + 1
        self.max_active[key] = max(self.max_active.get(key, 0), self.active[key])
        self.total_active += 1
        self.peak_total = max(self.peak_total, self.total_active)
        try:
            self.turns.append(message)
            if "slow" in message.text or self._work_s:
                await asyncio.sleep(max(self._work_s, 0.15 if "slow" in message.text else 0))  # simulated work
            return self._reply(message)
        finally:
            self.active[key] -= 1
            self.total_active -= 1

    def _reply(self, message: InboundMessage) -> Reply:
        text = message.text
        n = next(self._ids)
        if "boom" in text:
            raise RuntimeError("database password is hunter2")
        if "waiting for me" in text.lower():  # graphs/waiting.py's list, by the real eligibility rule
            mine = tuple(v for v in self.approvals.values() if v.open and message.user_email in v.approvers)
            return Reply(text=f"{len(mine)} waiting for your decision.", route="tool", approvals=mine)
        if hold := re.search(r"\bhold (INV-\d+)", text, re.IGNORECASE):
            return self._approval(message, f"Put invoice {hold.group(1)} on payment hold", "approve", AP_LEADS, 1)
        if bank := re.search(r"bank details for ([\w ]+)", text, re.IGNORECASE):
            title = f"Change the bank account of {bank.group(1).strip()}"
            return self._approval(message, title, "four_eyes", BANK_APPROVERS, 2)
        if inv := re.search(r"status of (INV-\d+)", text, re.IGNORECASE):
            return Reply(
                text=f"{inv.group(1)} (Acme Corp): approved, EUR 12,400.00, due 2025-12-01.",
                route="tool",
                sensitive=True,
                tool="invoice_status",
                audit_id=f"aud-{n}",
            )
        if "long" in text:
            paragraph = "This paragraph explains one step of the onboarding checklist in detail. " * 20
            return Reply(text="\n\n".join([paragraph] * 60), route="answer", citations=CITATIONS, audit_id=f"aud-{n}")
        return Reply(text=KNOWLEDGE_TEXT, route="answer", citations=CITATIONS, audit_id=f"aud-{n}", confidence=0.8)

    def _approval(
        self, message: InboundMessage, title: str, mode: Any, approvers: tuple[str, ...], required: int
    ) -> Reply:
        approval_id = f"apr-{next(self._ids)}"
        view = ApprovalView(
            approval_id=approval_id,
            title=title,
            requester=message.user_email or message.user_id,
            reason="Payment holds on invoices need an AP lead's approval."
            if mode == "approve"
            else "Bank detail changes need two approvers (four eyes).",
            rule="ap.hold_payment" if mode == "approve" else "ap.vendor_bank_change",
            mode=mode,
            approvers=approvers,
            required=required,
            expires_at=datetime.now(UTC) + self._approval_ttl,
            status="pending",
        )
        self.approvals[approval_id] = view
        self.origins[approval_id] = {"channel": message.channel, "ref": message.conversation_ref}
        return Reply(text=f"{title} needs approval. I've asked the approvers.", route="approval", approval=view)

    async def decide(
        self, approval_id: str, approver_email: str | None, approve: bool, comment: str = ""
    ) -> DecisionOutcome:
        self.decide_calls += 1
        async with self._lock:
            view = self.approvals.get(approval_id)
            if view is None:
                return DecisionOutcome(False, "I can't find that request.")
            if view.status == "pending" and datetime.now(UTC) >= view.expires_at:
                view = await self._close(replace(view, status="expired"))
            if view.status != "pending":
                return DecisionOutcome(False, f"This request is already {view.status}: nothing was changed.", view)
            if approver_email is None:
                return DecisionOutcome(False, "I couldn't match your Slack account to the company directory.", view)
            if approver_email == view.requester:
                return DecisionOutcome(False, "You can't approve your own request.", view)
            if approver_email not in view.approvers:
                return DecisionOutcome(False, "You're not one of the approvers for this request.", view)
            if any(d.approver == approver_email for d in view.decisions):
                return DecisionOutcome(False, "You've already approved this; a second approver must decide.", view)
            decisions = (*view.decisions, Decision(approver_email, approve, datetime.now(UTC), comment))
            approvals = sum(1 for d in decisions if d.approve)
            status: ApprovalStatus = "executed" if approvals >= view.required else "pending"
            if not approve:
                status = "rejected"
            if status == "executed":
                self.executions.append(approval_id)
            view = replace(view, decisions=decisions, status=status)
        view = await self._close(view) if view.status in CLOSED else await self._refresh(view)
        return DecisionOutcome(True, f"Recorded: {view.status}.", view)

    async def may_decide(self, approval_id: str, approver_email: str | None, approve: bool) -> DecisionOutcome | None:
        """The same checks as `decide`, changing nothing (the reason form opens only when this is None)."""
        self.may_decide_calls += 1
        view = self.approvals.get(approval_id)
        if view is None:
            return DecisionOutcome(False, "I can't find that request.")
        if view.status == "pending" and datetime.now(UTC) >= view.expires_at:
            return DecisionOutcome(False, "This request is already expired: nothing was changed.", view)
        if view.status != "pending":
            return DecisionOutcome(False, f"This request is already {view.status}: nothing was changed.", view)
        if approver_email is None:
            return DecisionOutcome(False, "I couldn't match your Slack account to the company directory.", view)
        if approver_email == view.requester:
            return DecisionOutcome(False, "You can't decide on your own request.", view)
        if approver_email not in view.approvers:
            return DecisionOutcome(False, "You're not one of the approvers for this request.", view)
        if any(d.approver == approver_email for d in view.decisions):
            return DecisionOutcome(False, "You've already approved this; a second approver must decide.", view)
        return None

    async def expire(self, approval_id: str) -> ApprovalView:
        """What the core's expiry sweep does: close the approval and refresh its messages."""
        async with self._lock:
            view = replace(self.approvals[approval_id], status="expired")
        return await self._close(view)

    async def _refresh(self, view: ApprovalView) -> ApprovalView:
        self.approvals[view.approval_id] = view
        for ref in self.refs.get(view.approval_id, []):
            await self.outboxes[ref.channel].refresh_approval(ref, view)
        return view

    async def _close(self, view: ApprovalView) -> ApprovalView:
        await self._refresh(view)
        origin = self.origins.get(view.approval_id)
        if origin is not None and origin["channel"] in self.outboxes:
            result = Reply(text=f"{view.title}: {view.status}.", route="tool")
            await self.outboxes[origin["channel"]].notify(origin["ref"], result)
        return view

    async def feedback(
        self, audit_id: str, user_email: str | None, helpful: bool, *, sources: tuple[str, ...] = (), comment: str = ""
    ) -> None:
        self.feedback_calls.append((audit_id, user_email, helpful))
        self.feedback_details.append({"sources": sources, "comment": comment})

    async def identify(self, email: str) -> str | None:
        email = email.strip().lower()
        return email if email in PEOPLE else None

    async def remember_approval_message(self, approval_id: str, ref: MessageRef) -> None:
        self.refs.setdefault(approval_id, []).append(ref)

    async def home(self, user_email: str) -> HomeView:
        self.home_calls.append(user_email)
        views = sorted(self.approvals.values(), key=lambda v: v.expires_at)
        waiting = [v for v in views if v.open and user_email in v.approvers and v.requester != user_email]
        mine = [v for v in reversed(self.approvals.values()) if v.requester == user_email]
        return HomeView(waiting=tuple(waiting), requests=tuple(mine))
