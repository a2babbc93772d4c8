"""Questions about one's own earlier requests are answered from the approvals store and never start an
action; greetings and thanks get a short friendly answer instead of a refusal."""

from __future__ import annotations

import pytest

from graphs.understanding.patterns import asks_about_own_request
from tests.graphs.agent.conftest import Conversation

BOB, FRANK, HECTOR = "bob.martin@example.com", "frank.li@example.com", "hector.ruiz@example.com"


async def test_a_question_about_my_request_answers_its_status_and_raises_nothing(open_agent):
    async with open_agent() as rt:
        asked = await Conversation(rt, BOB, key="ask").say("add jamal.brooks@example.com to the engineering group")
        assert asked.route == "approval"
        other = await Conversation(rt, HECTOR, key="other").say("put a hold on invoice INV-10077")
        assert other.route == "approval"
        before = len(rt.approvals.list(status=None))
        reply = await Conversation(rt, BOB, key="later").say("what happened to my request to add Jamal to engineering?")
        vague = await Conversation(rt, BOB, key="later2").say("is my request approved yet?")
        after = len(rt.approvals.list(status=None))
        policy_runs = sum(1 for e in rt.audit.tail(200) if e.kind == "policy_decision")
    assert after == before == 2, "a status question must never raise a new approval"
    assert policy_runs == 2, "nor reach the policy"
    assert reply.route == "answer", reply.text
    assert asked.approval.approval_id in reply.text and "frank.li@example.com" in reply.text
    assert "expires" in reply.text
    assert other.approval.approval_id not in reply.text + vague.text, "only the requester's own requests"
    assert asked.approval.approval_id in vague.text


async def test_status_after_the_decision_says_who_decided(open_agent):
    async with open_agent() as rt:
        asked = await Conversation(rt, BOB, key="ask").say("add jamal.brooks@example.com to the engineering group")
        await rt.agent.decide(asked.approval.approval_id, FRANK, False, "not now")
        reply = await Conversation(rt, BOB, key="later").say("what happened to my request to add Jamal?")
    assert "rejected by frank.li@example.com" in reply.text


async def test_no_requests_is_said_plainly(open_agent):
    async with open_agent() as rt:
        reply = await Conversation(rt, BOB).say("what's the status of my request?")
        approvals = rt.approvals.list(status=None)
    assert reply.route == "answer" and "no requests" in reply.text
    assert approvals == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("what happened to my request to add Maya to engineering?", True),
        ("any news on my vpn access request", True),
        ("did the hold I requested on INV-10077 go through?", True),
        ("add maya.patel@example.com to engineering", False),
        ("cancel my request", False),
        ("how do I request access to a group?", False),
        ("what's the status of invoice INV-10042", False),
    ],
)
def test_question_form_references_to_my_request_are_recognised(text, expected):
    assert asks_about_own_request(text) is expected


async def test_greetings_and_thanks_get_a_friendly_answer(open_agent):
    async with open_agent() as rt:
        replies = {text: await Conversation(rt, BOB, key=text).say(text) for text in GREETINGS}
    for text, reply in replies.items():
        assert "outside what I can help with" not in reply.text, text
        assert "couldn't find" not in reply.text, text
        if "thank" in text:
            assert "welcome" in reply.text.lower(), text
        else:
            assert "Deskhand" in reply.text and "invoice" in reply.text, f"{text}: says what Deskhand can do"


GREETINGS = ("hello", "hi there", "good morning", "thanks!")
