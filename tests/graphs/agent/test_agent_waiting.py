""" "What's waiting for me?": the approvals this person may decide now, in general phrasing, read-only."""

from __future__ import annotations

import pytest

from graphs.understanding.patterns import asks_about_own_request, asks_what_awaits_me
from tests.clinc150 import clinc150
from tests.graphs.agent.conftest import Conversation

HECTOR, BOB = "hector.ruiz@example.com", "bob.martin@example.com"
CAROL, DAN, IVY = "carol.diaz@example.com", "dan.okafor@example.com", "ivy.chen@example.com"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("what's waiting for me?", True),
        ("anything for me to approve?", True),
        ("which requests can I approve", True),
        ("what needs my sign-off", True),
        ("do I have anything to approve today?", True),
        ("show me the approvals assigned to me", True),
        ("is anything pending on me", True),
        ("my approval queue please", True),
        ("what do I still need to approve?", True),
        # about one's own requests, or a question about the process: not this list
        ("who is my approval waiting on", False),
        ("is my request waiting for approval", False),
        ("can I approve my own request?", False),
        ("what happens when I approve an invoice?", False),
        ("put a hold on invoice INV-10077", False),
        ("x is waiting for me to call", False),  # "me" who must do something else
        ("does mexico require me to have a visa", False),
        ("can you put in a pto request for me", False),
    ],
)
def test_the_question_is_recognised_by_its_form(text: str, expected: bool) -> None:
    assert asks_what_awaits_me(text) is expected
    if expected:
        assert not asks_about_own_request(text) or asks_what_awaits_me(text)  # checked first in `understand`


def test_no_clinc150_utterance_is_taken_for_it() -> None:
    """23,700 real utterances of 150 everyday intents (none of them asks what waits for one's decision)."""
    taken = [text for rows in clinc150().values() for text, _intent in rows if asks_what_awaits_me(text)]
    assert taken == []


async def test_lists_only_what_this_person_may_decide_and_starts_nothing(open_agent):
    async with open_agent() as rt:
        hold = await Conversation(rt, HECTOR, key="h1").say("put a hold on invoice INV-10077")
        add = await Conversation(rt, BOB, key="b1").say("add jamal.brooks@example.com to the engineering group")
        assert hold.approval is not None and add.approval is not None
        before = {a.id for a in rt.approvals.list(None, 500)}
        carol = await Conversation(rt, CAROL, key="c1").say("anything waiting for my approval?")
        ivy = await Conversation(rt, IVY, key="i1").say("what's waiting for me?")
        hector = await Conversation(rt, HECTOR, key="h2").say("which requests can I approve?")
        await rt.agent.decide(hold.approval.approval_id, CAROL, True)
        carol_after = await Conversation(rt, CAROL, key="c2").say("what do I need to approve?")
        after = {a.id for a in rt.approvals.list(None, 500)}
        entries = rt.audit.tail(200)
    assert [v.approval_id for v in carol.approvals] == [hold.approval.approval_id]
    assert carol.sensitive and all(v.open for v in carol.approvals)
    assert "1 request wait" in carol.text and "INV-10077" in carol.text and HECTOR in carol.text
    assert ivy.approvals == () and "Nothing is waiting" in ivy.text
    assert hector.approvals == (), "a requester never sees their own request as something to decide"
    assert carol_after.approvals == (), "already approved by her (it needs a second approver)"
    assert before == after, "listing never creates a request"
    kinds = [e.kind for e in entries if e.actor == CAROL]
    assert "execution" not in kinds and "policy_decision" not in kinds
