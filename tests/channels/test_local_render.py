"""The terminal's rendering of "what's waiting for me?" and of a joined request: what to type to decide,
and the JSON a script reads."""

from __future__ import annotations

from datetime import UTC, datetime

from channels.base import ApprovalView, Reply
from channels.core.present import reply_from_data, reply_to_data
from channels.local import reply_to_json, reply_to_text

VIEW = ApprovalView(
    approval_id="apr_1",
    title="Put invoice INV-10077 on payment hold",
    requester="hector.ruiz@example.com",
    reason="needs an AP lead",
    rule="ap.hold_payment",
    mode="approve",
    approvers=("carol.diaz@example.com",),
    required=1,
    expires_at=datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
    status="pending",
)


def test_the_waiting_list_says_how_to_approve_and_how_to_reject_with_a_reason() -> None:
    reply = Reply(text="1 request waits for your decision:", route="answer", approvals=(VIEW,), sensitive=True)
    text = reply_to_text(reply)
    assert "/approve ID --as EMAIL" in text and "/reject ID --as EMAIL REASON" in text
    assert [a["approval_id"] for a in reply_to_json(reply)["approvals"]] == ["apr_1"]
    assert reply_from_data(reply_to_data(reply)) == reply  # a saved answer is delivered with its cards


def test_a_joined_request_reports_the_existing_approval() -> None:
    reply = Reply(text="already waiting", route="approval", data={"approval_id": "apr_1", "joined": True})
    out = reply_to_json(reply)
    assert out["approval_id"] == "apr_1" and out["joined"] is True
