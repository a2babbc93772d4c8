"""Approvals end to end: who may decide, exactly-once execution, expiry, binding and restarts."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import timedelta

import pytest

from tests.graphs.agent.conftest import Conversation

HECTOR = "hector.ruiz@example.com"  # AP clerk: requests holds
CAROL, DAN = "carol.diaz@example.com", "dan.okafor@example.com"  # AP leads
BOB = "bob.martin@example.com"


def executions(rt, tool: str) -> int:
    return sum(1 for e in rt.audit.tail(500) if e.kind == "execution" and e.payload.get("tool") == tool)


async def _request_hold(rt, invoice: str = "INV-10077"):
    reply = await Conversation(rt, HECTOR).say(f"put a hold on invoice {invoice}")
    assert reply.route == "approval" and reply.approval is not None
    return reply.approval


async def test_four_eyes_needs_two_distinct_eligible_approvers_then_runs_once(open_agent):
    async with open_agent() as rt:
        approval = await _request_hold(rt)
        refused_requester = await rt.agent.decide(approval.approval_id, HECTOR, True)
        refused_outsider = await rt.agent.decide(approval.approval_id, BOB, True)
        first = await rt.agent.decide(approval.approval_id, CAROL, True)
        again = await rt.agent.decide(approval.approval_id, CAROL, True)
        assert executions(rt, "hold_payment") == 0, "one approval of two must not run anything"
        second = await rt.agent.decide(approval.approval_id, DAN, True)
        late = await rt.agent.decide(approval.approval_id, "kate.novak@example.com", True)
        status = rt.approvals.get(approval.approval_id).status
        on_hold = rt.ledger.invoice_status("INV-10077").hold is not None
        runs = executions(rt, "hold_payment")
        notes = rt.local_outbox.drain("c1")
    assert not refused_requester.accepted and "own" in refused_requester.message.lower()
    assert not refused_outsider.accepted and "eligible" in refused_outsider.message.lower()
    assert first.accepted and first.approval.status == "pending"
    assert not again.accepted
    assert second.accepted
    assert not late.accepted
    assert status == "executed"
    assert on_hold
    assert runs == 1
    assert any("Approved" in n["text"] for n in notes), "the requester hears the outcome"


async def test_concurrent_decisions_execute_exactly_once(open_agent):
    async with open_agent() as rt:
        reply = await Conversation(rt, BOB).say("add jamal.brooks@example.com to the engineering group")
        assert reply.approval is not None and reply.approval.mode == "approve"
        approvers = list(reply.approval.approvers)
        outcomes = await asyncio.gather(
            *[rt.agent.decide(reply.approval.approval_id, who, True) for who in approvers * 3]
        )
        runs = executions(rt, "add_to_group")
        members = await rt.directory.group_members("engineering")
    assert sum(1 for o in outcomes if o.accepted) >= 1
    assert runs == 1
    assert "jamal.brooks@example.com" in members


async def test_rejection_runs_nothing_and_tells_the_requester(open_agent):
    async with open_agent() as rt:
        approval = await _request_hold(rt)
        outcome = await rt.agent.decide(approval.approval_id, CAROL, False, "not needed")
        on_hold = rt.ledger.invoice_status("INV-10077").hold is not None
        notes = rt.local_outbox.drain("c1")
    assert outcome.accepted and outcome.approval.status == "rejected"
    assert not on_hold
    assert any("rejected" in n["text"].lower() for n in notes)


async def test_expired_approval_cannot_be_used(open_agent):
    async with open_agent() as rt:
        approval = await _request_hold(rt)
        real_clock = rt.deps.clock
        rt.deps.clock = lambda: real_clock() + timedelta(days=30)
        expired = await rt.agent.expire_due()
        outcome = await rt.agent.decide(approval.approval_id, CAROL, True)
        on_hold = rt.ledger.invoice_status("INV-10077").hold is not None
        notes = rt.local_outbox.drain("c1")
    assert approval.approval_id in expired
    assert not outcome.accepted
    assert not on_hold
    assert any("expired" in n["text"].lower() for n in notes)


async def test_audit_chain_covers_the_decisions_and_verifies(open_agent):
    async with open_agent() as rt:
        approval = await _request_hold(rt)
        await rt.agent.decide(approval.approval_id, CAROL, True)
        await rt.agent.decide(approval.approval_id, DAN, True)
        kinds = [e.kind for e in rt.audit.tail(50)]
        verdict = rt.audit.verify()
    assert verdict.ok
    for kind in ("policy_decision", "approval_requested", "approval_decision", "execution"):
        assert kind in kinds


def _cli(data_dir, index_dir, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DESKHAND_DATA_DIR": str(data_dir),
        "DESKHAND_INDEX_DIR": str(index_dir),
        "HF_HUB_OFFLINE": "1",
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, env=env, timeout=180, check=False
    )


@pytest.mark.timeout(1200)  # six cold CLI processes; slow only on a loaded machine
def test_a_new_process_decides_a_pending_approval_and_the_action_runs_once(tmp_path, sample_index):
    data = tmp_path / "data"
    asked = _cli(data, sample_index, "ask", "--json", "--user", HECTOR, "put a hold on invoice INV-10077")
    assert asked.returncode == 0, asked.stderr
    approval_id = json.loads(asked.stdout)["approval_id"]
    first = _cli(data, sample_index, "approvals", "decide", approval_id, "--as", CAROL, "--approve")
    second = _cli(data, sample_index, "approvals", "decide", approval_id, "--as", DAN, "--approve")
    replay = _cli(data, sample_index, "approvals", "decide", approval_id, "--as", DAN, "--approve")
    shown = json.loads(_cli(data, sample_index, "approvals", "show", approval_id).stdout)
    status = json.loads(
        _cli(data, sample_index, "ask", "--json", "--user", HECTOR, "status of invoice INV-10077").stdout
    )
    verify = _cli(data, sample_index, "audit", "verify")
    assert json.loads(first.stdout)["status"] == "pending"
    assert json.loads(second.stdout)["status"] == "executed", second.stderr
    assert replay.returncode == 1
    assert shown["status"] == "executed"
    assert status["result"].get("on_hold") is True or "hold" in status["answer"].lower()
    assert verify.returncode == 0, verify.stdout + verify.stderr
