"""Actions that would change nothing are answered at once: no approval request, no execution."""

from __future__ import annotations

import pytest

from tests.graphs.agent.conftest import Conversation

BOB = "bob.martin@example.com"
FRANK = "frank.li@example.com"
HECTOR = "hector.ruiz@example.com"


def _count(rt, kind: str) -> int:
    return sum(1 for e in rt.audit.tail(500) if e.kind == kind)


@pytest.mark.parametrize(
    ("user", "message", "tool", "says"),
    [
        (FRANK, "add maya.patel@example.com to the engineering group", "add_to_group", "already a member"),
        (BOB, "remove maya.patel@example.com from the design group", "remove_from_group", "not a member"),
        (HECTOR, "release the payment hold on INV-10042", "release_hold", "no payment hold"),
        (FRANK, "please deactivate ethan.cole@example.com, he left", "deactivate_user", "already deactivated"),
    ],
)
async def test_an_action_that_changes_nothing_is_answered_without_approval(open_agent, user, message, tool, says):
    async with open_agent() as rt:
        reply = await Conversation(rt, user).say(message)
        approvals = rt.approvals.list(status=None)
        executions = _count(rt, "execution")
    assert reply.route == "tool" and reply.tool == tool, reply.text
    assert says in reply.text and "no approval" in reply.text.lower()
    assert reply.data.get("noop") is True
    assert approvals == [], "no approver is asked about a change that changes nothing"
    assert executions == 0


async def test_holding_an_invoice_already_on_hold_is_answered_without_approval(open_agent):
    async with open_agent() as rt:
        rt.ledger.hold_payment("INV-10042", "disputed quantity", "carol.diaz@example.com", idempotency_key="t-hold")
        reply = await Conversation(rt, HECTOR).say("put a hold on invoice INV-10042")
        approvals = rt.approvals.list(status=None)
    assert reply.route == "tool" and reply.tool == "hold_payment", reply.text
    assert "already on hold" in reply.text
    assert approvals == []


async def test_releasing_a_held_invoice_still_needs_an_ap_lead(open_agent):
    async with open_agent() as rt:
        rt.ledger.hold_payment("INV-10042", "disputed quantity", "carol.diaz@example.com", idempotency_key="t-hold")
        reply = await Conversation(rt, HECTOR).say("release the payment hold on INV-10042")
    assert reply.route == "approval" and reply.tool == "release_hold", reply.text
