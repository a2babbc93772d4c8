"""An offboarded (deactivated) account loses every right at once: asking, reading, approving, counting as an
approver; pending approvals that named it re-check who may decide. In one process and across two."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time

import pytest

from graphs.identity import IdentityCache
from tests.graphs.agent.conftest import Conversation

CAROL, DAN, KATE = "carol.diaz@example.com", "dan.okafor@example.com", "kate.novak@example.com"
FRANK, ALICE, HECTOR = "frank.li@example.com", "alice.nguyen@example.com", "hector.ruiz@example.com"
STATUS = "what's the status of invoice INV-10042"


def _runs(rt, tool: str) -> int:
    return sum(1 for e in rt.audit.tail(500) if e.kind == "execution" and e.payload.get("tool") == tool)


async def _deactivate_carol(rt) -> str:
    reply = await Conversation(rt, FRANK, key="offboarding").say(f"please deactivate {CAROL}, she left")
    assert reply.route == "approval" and reply.tool == "deactivate_user", reply.text
    outcome = await rt.agent.decide(reply.approval.approval_id, ALICE, True)
    assert outcome.accepted and outcome.approval.status == "executed", outcome.message
    return reply.approval.approval_id


async def test_a_deactivated_account_loses_every_right_at_once(open_agent):
    async with open_agent() as rt:
        carol = Conversation(rt, CAROL, key="carol")
        before = await carol.say(STATUS)  # also puts Carol in the identity cache as active
        hold = await Conversation(rt, HECTOR, key="hold").say("put a hold on invoice INV-10077")
        assert hold.approval is not None and CAROL in hold.approval.approvers
        await _deactivate_carol(rt)

        read = await carol.say(STATUS)
        request = await carol.say("put a hold on invoice INV-10080")
        question = await carol.say("how many PTO days do I get?")
        vote = await rt.agent.decide(hold.approval.approval_id, CAROL, True)
        dan = await rt.agent.decide(hold.approval.approval_id, DAN, True)
        approvers_after = rt.approvals.get(hold.approval.approval_id).approvers
        kate = await rt.agent.decide(hold.approval.approval_id, KATE, True)
        fresh = await Conversation(rt, HECTOR, key="hold2").say("put a hold on invoice INV-10077")
        runs = _runs(rt, "invoice_status")
        status = rt.approvals.get(hold.approval.approval_id).status
    assert before.route == "tool" and "INV-10042" in before.text
    for reply in (read, request, question):
        assert reply.route == "no_answer" and "no longer active" in reply.text, reply.text
    assert runs == 1, "the reading tool ran only before the deactivation"
    assert not vote.accepted and "no longer active" in vote.message
    assert dan.accepted and dan.approval.status == "pending"
    assert CAROL not in approvers_after and KATE in approvers_after, "re-checked at decision time, with the fallback"
    assert kate.accepted and status == "executed"
    assert fresh.route == "tool" and fresh.data.get("noop") is True  # INV-10077 is on hold now: nothing to do


async def test_four_eyes_that_can_no_longer_reach_two_active_people_says_so(open_agent):
    async with open_agent() as rt:
        hold = await Conversation(rt, HECTOR, key="hold").say("put a hold on invoice INV-10077")
        approval_id = hold.approval.approval_id
        await rt.directory.deactivate_user(CAROL)
        await rt.directory.deactivate_user(KATE)
        dan = await rt.agent.decide(approval_id, DAN, True)
        shown = rt.agent.view(rt.approvals.get(approval_id))
        notes = rt.local_outbox.drain("hold")
        on_hold = rt.ledger.invoice_status("INV-10077").hold is not None
    assert dan.accepted and dan.approval.status == "pending"
    assert shown.approvers == (DAN,)
    assert "can no longer get the 2 approvals" in shown.reason
    assert any("can no longer get the 2 approvals" in n["text"] for n in notes), "the requester is told"
    assert not on_hold


async def test_an_approval_for_a_deactivated_requester_cannot_be_approved(open_agent):
    async with open_agent() as rt:
        hold = await Conversation(rt, HECTOR, key="hold").say("put a hold on invoice INV-10042")
        await rt.directory.deactivate_user(HECTOR)
        outcome = await rt.agent.decide(hold.approval.approval_id, CAROL, True)
        rejected = await rt.agent.decide(hold.approval.approval_id, DAN, False)
    assert not outcome.accepted and "requester's account is no longer active" in outcome.message
    assert rejected.accepted and rejected.approval.status == "rejected"


async def test_identity_cache_is_bounded_expires_and_drops_on_a_directory_change():
    calls: list[str] = []
    now = [0.0]
    changes = [0]

    class Person:
        def __init__(self, email: str) -> None:
            self.email, self.active = email, True

    async def lookup(email: str) -> Person:
        calls.append(email)
        return Person(email)

    cache = IdentityCache(lookup, ttl_s=30.0, changes=lambda: changes[0], max_entries=2, clock=lambda: now[0])
    await cache.get("a@x.com")
    await cache.get("A@x.com ")
    assert calls == ["a@x.com"]
    now[0] = 31.0
    await cache.get("a@x.com")
    assert calls == ["a@x.com", "a@x.com"], "an entry older than the TTL is looked up again"
    changes[0] += 1
    await cache.get("a@x.com")
    assert len(calls) == 3, "a write to the directory in this process drops every entry"
    await cache.get("b@x.com")
    await cache.get("c@x.com")
    await cache.get("a@x.com")
    assert calls[-1] == "a@x.com" and len(calls) == 6, "at most two entries are kept"


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, env=env, timeout=300, check=False
    )


@pytest.mark.timeout(900)
async def test_a_deactivation_in_another_process_is_seen_within_the_ttl(
    open_agent, make_scim_server, fresh_pg_url, tmp_path, sample_index
):
    from bot.cli_db import upgrade

    await asyncio.to_thread(upgrade, fresh_pg_url)  # PostgreSQL is never migrated silently at start-up
    scim = make_scim_server()
    env = {
        **os.environ,
        "DESKHAND_DATA_DIR": str(tmp_path / "other-process"),
        "DESKHAND_INDEX_DIR": str(sample_index),
        "DESKHAND_SCIM_URL": scim,
        "DATABASE_URL": fresh_pg_url,
        "HF_HUB_OFFLINE": "1",
    }
    async with open_agent(scim_url=scim, database_url=fresh_pg_url, identity_ttl_s=2.0) as rt:
        carol = Conversation(rt, CAROL, key="carol")
        before = await carol.say(STATUS)
        hold = await Conversation(rt, HECTOR, key="hold").say("put a hold on invoice INV-10077")
        offboard = await Conversation(rt, FRANK, key="offboarding").say(f"please deactivate {CAROL}, she left")
        assert before.route == "tool" and hold.approval is not None and offboard.approval is not None

        # The deactivation is approved and carried out by a second process sharing PostgreSQL and SCIM.
        decided = await _run(env, "approvals", "decide", offboard.approval.approval_id, "--as", ALICE, "--approve")
        assert json.loads(decided.stdout)["status"] == "executed", decided.stderr[-2000:]

        deadline = time.monotonic() + 20.0  # the TTL is 2 s; the margin is for a loaded machine
        reply = await carol.say(STATUS)
        while "no longer active" not in reply.text and time.monotonic() < deadline:
            reply = await carol.say(STATUS)
        vote = await rt.agent.decide(hold.approval.approval_id, CAROL, True)
    assert reply.route == "no_answer" and "no longer active" in reply.text, reply.text
    assert not vote.accepted and "no longer active" in vote.message

    # And the other way round: the other process refuses her too.
    other = await _run(env, "approvals", "decide", hold.approval.approval_id, "--as", CAROL, "--approve")
    assert other.returncode == 1 and "no longer active" in json.loads(other.stdout)["message"]


async def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    import asyncio

    return await asyncio.to_thread(_cli, env, *args)
