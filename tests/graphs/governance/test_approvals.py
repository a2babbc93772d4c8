"""Approval records on SQLite and PostgreSQL: server-side checks, CAS under races, binding, expiry."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from graphs.governance.approvals import (
    ApprovalError,
    ApprovalStore,
    compute_digest,
)
from tests.graphs.governance.approval_support import (
    BOB,
    CAROL,
    DAN,
    HOLD,
    IVY,
    KATE,
    NOW,
    decision_rows,
    four_eyes,
    make,
)
from tools.storage.db import build_engine, build_sessionmaker


def test_create_stores_a_pending_bound_record(store: ApprovalStore) -> None:
    a = make(store, requester="  Bob.Martin@Example.com ", approvers=(CAROL, "DAN.okafor@example.com", CAROL, BOB))
    assert re.fullmatch(r"apr_[A-Za-z0-9_-]{10}", a.id)
    assert (a.status, a.version, a.requester, a.approvers) == ("pending", 1, BOB, (CAROL, DAN))
    assert a.args_digest == compute_digest("hold_payment", HOLD)
    assert a.expires_at == NOW + timedelta(hours=24) and a.created_at == NOW
    assert a.idempotency_key.startswith(a.id) and a.decisions == ()
    assert store.get(a.id) == a


@pytest.mark.parametrize(
    "kwargs",
    [
        {"mode": "confirm"},
        {"mode": "four_eyes", "required": 2, "approvers": (CAROL,)},
        {"approvers": (BOB,)},  # only the requester: nobody left
        {"ttl": timedelta(0)},
    ],
)
def test_create_refuses_records_nobody_could_approve(store: ApprovalStore, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ApprovalError):
        make(store, **kwargs)
    assert store.list() == []


def test_an_eligible_approver_approves(store: ApprovalStore) -> None:
    a = make(store)
    r = store.decide(a.id, CAROL, True, "ok", NOW + timedelta(minutes=5))
    assert (r.accepted, r.became) == (True, "approved")
    assert r.approval is not None and r.approval.status == "approved"
    assert r.approval.approved_by == (CAROL,) and r.approval.decisions[0].comment == "ok"
    assert r.approval.decided_at == NOW + timedelta(minutes=5)
    assert not store.to_view(r.approval).open  # the card drops its buttons


def test_approver_identity_is_normalised(store: ApprovalStore) -> None:
    a = make(store)
    r = store.decide(a.id, "  Carol.Diaz@EXAMPLE.com ", True, now=NOW)
    assert r.became == "approved" and r.approval is not None and r.approval.approved_by == (CAROL,)


def test_the_requester_cannot_approve(store: ApprovalStore, sessions: sessionmaker[Session]) -> None:
    a = make(store)
    for approve in (True, False):
        r = store.decide(a.id, BOB, approve, now=NOW)
        assert not r.accepted and r.became is None
        assert r.message.startswith("You can't approve your own request" if approve else "You can't reject")
    assert store.get(a.id).status == "pending"  # type: ignore[union-attr]
    assert decision_rows(sessions, a.id) == 0


@pytest.mark.parametrize("who", [IVY, "", None, "carol.diaz@example.com.evil.test"])
def test_outsiders_are_refused(store: ApprovalStore, sessions: sessionmaker[Session], who: str | None) -> None:
    a = make(store)
    r = store.decide(a.id, who, True, now=NOW)
    assert not r.accepted and r.became is None
    if who:
        assert r.message == (
            "You are not an eligible approver for this request "
            "(eligible: carol.diaz@example.com, dan.okafor@example.com)."
        )
    assert store.get(a.id).status == "pending"  # type: ignore[union-attr]
    assert decision_rows(sessions, a.id) == 0


def test_unknown_approval(store: ApprovalStore) -> None:
    r = store.decide("apr_doesnotexist", CAROL, True, now=NOW)
    assert (r.accepted, r.approval) == (False, None)
    assert "apr_doesnotexist" in r.message


def test_four_eyes_needs_two_distinct_approvers(store: ApprovalStore) -> None:
    a = four_eyes(store)
    first = store.decide(a.id, CAROL, True, now=NOW)
    assert (first.accepted, first.became) == (True, None)
    assert first.approval is not None and first.approval.status == "pending"
    assert "One more approval is needed" in first.message and CAROL not in first.message.split("eligible:")[1]

    again = store.decide(a.id, CAROL, True, now=NOW)
    assert (again.accepted, again.became) == (False, None)
    assert again.message == "You already approved this; it needs a second approver."

    second = store.decide(a.id, DAN, True, now=NOW)
    assert (second.accepted, second.became) == (True, "approved")
    assert second.approval is not None and second.approval.approved_by == (CAROL, DAN)

    late = store.decide(a.id, KATE, True, now=NOW)
    assert not late.accepted
    assert late.message == f"This request was already approved by {CAROL} and {DAN}."


def test_a_reject_rejects_at_once(store: ApprovalStore) -> None:
    a = four_eyes(store)
    store.decide(a.id, CAROL, True, now=NOW)
    r = store.decide(a.id, DAN, False, "vendor confirmed the invoice", now=NOW)
    assert (r.accepted, r.became) == (True, "rejected")
    assert r.approval is not None and r.approval.status == "rejected" and r.approval.rejected_by == (DAN,)
    late = store.decide(a.id, KATE, True, now=NOW)
    assert not late.accepted and late.message == f"This request was already rejected by {DAN}."
    assert not store.claim_execution(a.id, a.args_digest)


def test_expiry_on_a_late_click(store: ApprovalStore) -> None:
    a = make(store, ttl=timedelta(hours=1))
    r = store.decide(a.id, CAROL, True, now=NOW + timedelta(hours=1))
    assert (r.accepted, r.became) == (False, "expired")
    assert r.message == "This request expired at 2026-03-02 10:00 UTC."
    again = store.decide(a.id, DAN, True, now=NOW + timedelta(hours=2))
    assert (again.accepted, again.became, again.message) == (False, None, r.message)
    assert store.get(a.id).status == "expired"  # type: ignore[union-attr]
    assert not store.claim_execution(a.id, a.args_digest)


def test_expire_due_expires_each_overdue_request_once(store: ApprovalStore) -> None:
    short = make(store, ttl=timedelta(hours=1))
    long = make(store, ttl=timedelta(hours=48))
    decided = make(store, ttl=timedelta(hours=1))
    store.decide(decided.id, CAROL, True, now=NOW)
    assert store.expire_due(NOW + timedelta(minutes=59)) == []
    expired = store.expire_due(NOW + timedelta(hours=2))
    assert [a.id for a in expired] == [short.id] and expired[0].status == "expired"
    assert store.expire_due(NOW + timedelta(hours=3)) == []
    assert store.get(long.id).status == "pending"  # type: ignore[union-attr]
    assert store.get(decided.id).status == "approved"  # type: ignore[union-attr]


def test_execution_is_bound_to_the_approved_arguments_and_single_use(store: ApprovalStore) -> None:
    a = make(store)
    assert not store.claim_execution(a.id, a.args_digest)  # not approved yet
    store.decide(a.id, CAROL, True, now=NOW)
    other = compute_digest("hold_payment", {**HOLD, "invoice_id": "INV-10078"})
    assert not store.claim_execution(a.id, other)
    assert not store.claim_execution(a.id, compute_digest("release_hold", HOLD))
    assert store.get(a.id).status == "approved"  # type: ignore[union-attr]
    assert store.claim_execution(a.id, compute_digest("hold_payment", dict(reversed(HOLD.items()))))
    assert not store.claim_execution(a.id, a.args_digest)
    assert store.to_view(store.get(a.id)).status == "approved"  # type: ignore[arg-type]
    done = store.finish_execution(a.id, True, {"hold_id": "H-1", "amount": Decimal("48250.00")}, now=NOW)
    assert (done.status, done.result, done.executed_at) == ("executed", {"hold_id": "H-1", "amount": "48250.00"}, NOW)
    assert not store.claim_execution(a.id, a.args_digest)
    with pytest.raises(ApprovalError):
        store.finish_execution(a.id, True, {})
    assert "carried out" in store.decide(a.id, DAN, True, now=NOW).message


def test_a_failed_execution_is_recorded(store: ApprovalStore) -> None:
    a = make(store)
    store.decide(a.id, CAROL, True, now=NOW)
    assert store.claim_execution(a.id, a.args_digest)
    failed = store.finish_execution(a.id, False, {"error": "ledger unavailable"})
    assert failed.status == "failed" and not store.claim_execution(a.id, a.args_digest)


def test_an_approval_for_one_amount_is_not_reused_after_it_changed(store: ApprovalStore) -> None:
    a = make(store, facts={"amount": Decimal("9000.00")})
    store.decide(a.id, CAROL, True, now=NOW)
    assert not store.claim_execution(a.id, compute_digest("hold_payment", HOLD, {"amount": Decimal("90000.00")}))
    assert not store.claim_execution(a.id, compute_digest("hold_payment", HOLD))
    assert store.claim_execution(a.id, compute_digest("hold_payment", HOLD, {"amount": Decimal("9000.00")}))


def test_cancel_by_the_requester_only(store: ApprovalStore) -> None:
    a = make(store)
    assert not store.cancel(a.id, CAROL).accepted
    assert store.cancel(a.id, BOB).accepted
    r = store.decide(a.id, CAROL, True, now=NOW)
    assert not r.accepted and r.message == "This request was cancelled by the requester."


def test_list_and_message_refs(store: ApprovalStore) -> None:
    first, second = make(store), make(store)
    store.decide(first.id, CAROL, True, now=NOW)
    assert {a.id for a in store.list()} == {first.id, second.id}
    assert [a.id for a in store.list(status="pending")] == [second.id]
    assert len(store.list(limit=1)) == 1
    slack, teams = {"channel": "C123", "ts": "1.2"}, {"conversation_id": "a:1", "activity_id": "x"}
    store.add_message_ref(first.id, "slack", slack)
    store.add_message_ref(first.id, "slack", dict(reversed(slack.items())))  # the same message again
    store.add_message_ref(first.id, "teams", teams)
    assert store.message_refs(first.id) == [("slack", slack), ("teams", teams)]
    assert store.message_refs(second.id) == []
    with pytest.raises(ApprovalError):
        store.add_message_ref("apr_nope", "slack", slack)


def test_to_view_shows_what_the_card_needs(store: ApprovalStore) -> None:
    a = four_eyes(store)
    r = store.decide(a.id, CAROL, True, "fine", now=NOW)
    assert r.approval is not None
    view = store.to_view(r.approval)
    assert (view.approval_id, view.mode, view.required, view.approvers) == (a.id, "four_eyes", 2, (CAROL, DAN, KATE))
    assert (view.requester, view.rule, view.status, view.open) == (BOB, "hold-payment-large", "pending", True)
    assert view.title == "Put invoice INV-10077 on payment hold" and view.arguments == HOLD
    assert [(d.approver, d.approve, d.comment) for d in view.decisions] == [(CAROL, True, "fine")]
    outcome = store.to_outcome(r)
    assert outcome.accepted and outcome.approval == view


def test_records_survive_a_new_store_on_the_same_database(db_url: str, store: ApprovalStore) -> None:
    a = four_eyes(store)
    store.decide(a.id, CAROL, True, now=NOW)
    engine = build_engine(db_url)
    try:
        fresh = ApprovalStore(build_sessionmaker(engine))
        seen = fresh.get(a.id)
        assert seen is not None and seen.approved_by == (CAROL,) and seen.conversation_ref == a.conversation_ref
        assert fresh.decide(a.id, DAN, True, now=NOW).became == "approved"
    finally:
        engine.dispose()
    assert store.get(a.id).status == "approved"  # type: ignore[union-attr]
