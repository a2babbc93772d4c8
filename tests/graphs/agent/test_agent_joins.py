"""One request, one approval: identical pending requests join the first; joiners hear the outcome and its
reason, and cannot decide; simultaneous identical requests on PostgreSQL create exactly one approval."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from bot.cli_db import upgrade
from graphs.governance.approval_joins import JOINER_DECIDES, ApprovalJoins
from graphs.governance.approvals import ApprovalStore, AuditNote
from graphs.governance.audit import AuditLog
from tests.graphs.agent.conftest import Conversation
from tools.storage.db import build_engine, build_sessionmaker

HECTOR, BOB = "hector.ruiz@example.com", "bob.martin@example.com"
CAROL, DAN = "carol.diaz@example.com", "dan.okafor@example.com"
HOLD = "put a hold on invoice INV-10077"


async def test_an_identical_request_joins_the_pending_one_and_hears_the_outcome_with_the_reason(open_agent):
    async with open_agent() as rt:
        first = await Conversation(rt, HECTOR, key="hector").say(HOLD)
        again = await Conversation(rt, HECTOR, key="hector-2").say(HOLD)
        other = await Conversation(rt, BOB, key="bob").say("please hold INV-10077")
        assert first.approval is not None
        approval_id = first.approval.approval_id
        pending = rt.approvals.list("pending")
        rejected = await rt.agent.decide(approval_id, DAN, False, "The vendor dispute was settled yesterday.")
        hector_notes = rt.local_outbox.drain("hector")
        bob_notes = rt.local_outbox.drain("bob")
        entries = rt.audit.tail(100)
    assert [a.id for a in pending] == [approval_id], "approvers are asked once"
    assert again.approval is None and "You already asked for this" in again.text and approval_id in again.text
    assert other.approval is None and other.route == "approval"
    assert "An identical request is already waiting" in other.text and approval_id in other.text
    assert rejected.accepted and rejected.approval.status == "rejected"
    for notes in (hector_notes, bob_notes):
        [note] = [n for n in notes if "rejected" in n["text"]]
        assert "The vendor dispute was settled yesterday." in note["text"] and DAN in note["text"]
    joined = [e for e in entries if e.kind == "approval_joined"]
    assert [(e.actor, e.payload["same_requester"]) for e in joined] == [(HECTOR, True), (BOB, False)]
    [decision] = [e for e in entries if e.kind == "approval_decision" and e.payload.get("became") == "rejected"]
    assert decision.payload["comment"] == "The vendor dispute was settled yesterday." and decision.actor == DAN


async def test_a_joiner_cannot_decide_and_a_closed_request_is_asked_anew(open_agent):
    async with open_agent() as rt:
        first = await Conversation(rt, HECTOR, key="hector").say(HOLD)
        joined = await Conversation(rt, CAROL, key="carol").say(HOLD)  # an AP lead asks for it too
        assert first.approval is not None and joined.approval is None
        approval_id = first.approval.approval_id
        refused = await rt.agent.decide(approval_id, CAROL, True)
        await rt.agent.decide(approval_id, DAN, False, "not now")
        anew = await Conversation(rt, BOB, key="bob").say(HOLD)
    assert not refused.accepted and refused.message == JOINER_DECIDES
    assert anew.approval is not None and anew.approval.approval_id != approval_id and anew.approval.open


def test_simultaneous_identical_requests_create_one_approval_on_postgresql(fresh_pg_url):
    upgrade(fresh_pg_url)
    engines = [build_engine(fresh_pg_url) for _ in range(4)]
    stores = [ApprovalStore(build_sessionmaker(e), AuditLog(build_sessionmaker(e))) for e in engines]
    now = datetime.now(UTC)
    try:
        for round_no in range(6):
            barrier = threading.Barrier(len(stores))
            results: list[object] = [None] * len(stores)

            def ask(
                i: int, store: ApprovalStore, n: int = round_no, barrier: threading.Barrier = barrier, results=results
            ) -> None:
                barrier.wait(timeout=10)
                results[i] = ApprovalJoins(store).request(
                    tool="hold_payment",
                    args={"invoice_id": f"INV-{n}"},
                    requester=f"clerk{i}@example.com",
                    channel="local",
                    conversation_ref={"conversation": f"c{i}"},
                    rule_id="r",
                    mode="approve",
                    reason="test",
                    approvers=["lead@example.com"],
                    required=1,
                    expires_at=now + timedelta(hours=1),
                    audit=AuditNote(actor=f"clerk{i}@example.com"),
                )

            threads = [threading.Thread(target=ask, args=(i, s)) for i, s in enumerate(stores)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=30)
            created = [r for r in results if r is not None and not r.joined]  # type: ignore[attr-defined]
            ids = {r.approval.id for r in results}  # type: ignore[attr-defined]
            assert len(created) == 1 and len(ids) == 1, f"round {round_no}: {results}"
            waiters = ApprovalJoins(stores[0]).waiters(ids.pop())
            assert len(waiters) == len(stores) - 1
        assert stores[0].audit.verify().ok
    finally:
        for e in engines:
            e.dispose()


async def test_a_joined_request_past_its_expiry_is_not_joined(open_agent):
    async with open_agent(approval_ttl_minutes=1) as rt:
        first = await Conversation(rt, HECTOR, key="hector").say(HOLD)
        rt.agent.deps.clock = lambda: datetime.now(UTC) + timedelta(minutes=2)
        second = await Conversation(rt, BOB, key="bob").say(HOLD)
    assert first.approval is not None and second.approval is not None
    assert second.approval.approval_id != first.approval.approval_id
