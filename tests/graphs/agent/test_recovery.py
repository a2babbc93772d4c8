"""Crash recovery of approvals: an approved request nobody ran and an execution whose process died are
re-driven once, through the execute path with the approval's idempotency key, and the requester is told."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from graphs.governance.approval_records import AuditNote, compute_digest
from graphs.governance.audit_check import find_gaps
from graphs.recovery import DEFAULT_GRACE, DEFAULT_LEASE, recover_approvals
from tests.graphs.agent.conftest import Conversation
from tools.tool_spec import ToolContext

HECTOR, CAROL, DAN = "hector.ruiz@example.com", "carol.diaz@example.com", "dan.okafor@example.com"
BOB, MAYA = "bob.martin@example.com", "jamal.brooks@example.com"  # Jamal is not in engineering yet


def finished(rt: Any, tool: str) -> int:
    return sum(1 for e in rt.audit.tail(500) if e.kind == "execution" and e.payload.get("tool") == tool)


def later(rt: Any, delta: timedelta) -> None:
    real = rt.deps.clock
    rt.deps.clock = lambda: real() + delta


async def approved_behind_the_agents_back(rt: Any, request: str, user: str) -> Any:
    """The decision commits, then the process dies before it resumes the approval's graph thread."""
    reply = await Conversation(rt, user).say(request)
    assert reply.approval is not None
    approval_id = reply.approval.approval_id
    for who in reply.approval.approvers[: reply.approval.required]:
        result = await asyncio.to_thread(rt.approvals.decide, approval_id, who, True, "", rt.deps.clock())
        assert result.accepted
    approval = rt.approvals.get(approval_id)
    assert approval.status == "approved"
    return approval


async def test_an_approved_request_nobody_ran_is_executed_once_and_the_requester_told(open_agent: Any) -> None:
    async with open_agent() as rt:
        approval = await approved_behind_the_agents_back(rt, "put a hold on invoice INV-10077", HECTOR)
        early = await recover_approvals(rt.agent)  # within the grace period a live process may still run it
        later(rt, DEFAULT_GRACE + timedelta(seconds=1))
        report = await recover_approvals(rt.agent)
        again = await recover_approvals(rt.agent)
        status = rt.approvals.get(approval.id).status
        on_hold = rt.ledger.invoice_status("INV-10077").hold is not None
        notes = rt.local_outbox.drain("c1")
        gaps = find_gaps(rt.approvals._sessions)
    assert early.touched == 0
    assert report.executed == [approval.id] and again.touched == 0
    assert status == "executed" and on_hold
    assert any("Approved by" in n["text"] for n in notes)
    assert gaps == []


async def test_a_dead_execution_is_taken_over_after_its_lease_without_acting_twice(open_agent: Any) -> None:
    async with open_agent() as rt:
        approval = await approved_behind_the_agents_back(rt, f"add {MAYA} to the engineering group", BOB)
        spec = rt.deps.tools["add_to_group"]
        facts = await spec.facts(approval.args)
        digest = compute_digest(approval.tool, approval.args, facts, spec.state_facts)
        assert rt.approvals.claim_execution(approval.id, digest, rt.deps.clock(), audit=AuditNote())
        # The SCIM change went through, then the process was killed before recording it.
        ctx = ToolContext(requester=BOB, idempotency_key=f"approval:{approval.id}", request_id="r1")
        await spec.run(approval.args, ctx)
        stuck = rt.approvals.list("executing")
        before = await recover_approvals(rt.agent)  # the lease hasn't run out: it may still be running
        later(rt, DEFAULT_LEASE + timedelta(seconds=1))
        report = await recover_approvals(rt.agent)
        final = rt.approvals.get(approval.id)
        members = await rt.directory.group_members("engineering")
        runs = finished(rt, "add_to_group")
    assert [a.id for a in stuck] == [approval.id]
    assert before.touched == 0 and report.executed == [approval.id]
    assert final.status == "executed" and final.attempts == 2
    assert members.count(MAYA) == 1 and runs == 1
