"""More of the agent: every remaining intent, the confirm step, binding to looked-up facts, PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from tests.graphs.agent.conftest import Conversation

BOB = "bob.martin@example.com"
HECTOR = "hector.ruiz@example.com"
CAROL, DAN = "carol.diaz@example.com", "dan.okafor@example.com"


@pytest.mark.parametrize(
    ("user", "message", "route", "tool"),
    [
        (BOB, "look up Sam Taylor in the directory", "tool", "find_user"),
        (BOB, "create accounts for Dana Reyes starting 2026-12-07 in Finance", "approval", "create_user"),
        (BOB, "please deactivate Tom Becker's account, he left", "approval", "deactivate_user"),
        (BOB, "I want to talk to a person in HR", "handoff", None),
    ],
)
async def test_each_remaining_intent(open_agent, user, message, route, tool):
    async with open_agent() as rt:
        reply = await Conversation(rt, user).say(message)
    assert reply.route == route, reply.text
    assert reply.tool == tool


async def test_create_user_approval_carries_the_parsed_details(open_agent):
    async with open_agent() as rt:
        reply = await Conversation(rt, BOB).say("create accounts for Dana Reyes starting 2026-12-07 in Finance")
    assert reply.approval is not None
    args = reply.approval.arguments
    assert (args["given_name"], args["family_name"], args["department"]) == ("Dana", "Reyes", "finance")
    assert args["start_date"] == "2026-12-07"


async def test_clarifying_question_for_a_new_hire_name(open_agent):
    async with open_agent() as rt:
        conv = Conversation(rt, BOB)
        first = await conv.say("create an account for a new starter in finance")
        second = await conv.say("Dana Reyes")
        third = await conv.say("she starts on 2026-12-07")
    assert first.route == "clarify" and "name" in first.text.lower()
    assert second.route == "clarify" and "start" in second.text.lower()
    assert third.route == "approval"
    assert third.approval is not None and third.approval.arguments["family_name"] == "Reyes"
    assert third.approval.arguments["start_date"] == "2026-12-07"


async def test_confirm_yes_runs_and_no_cancels(open_agent):
    async with open_agent() as rt:
        conv = Conversation(rt, BOB, key="confirm-yes")
        asked = await conv.say("remove sam.taylor@example.com from the engineering group")
        done = await conv.say("yes")
        members = await rt.directory.group_members("engineering")
        conv2 = Conversation(rt, BOB, key="confirm-no")
        asked2 = await conv2.say("remove maya.patel@example.com from the engineering group")
        cancelled = await conv2.say("no")
        members2 = await rt.directory.group_members("engineering")
    assert asked.route == "confirm" and "yes" in asked.text.lower()
    assert done.route == "tool" and done.tool == "remove_from_group"
    assert "sam.taylor@example.com" not in members
    assert asked2.route == "confirm"
    assert cancelled.route == "answer" and "cancel" in cancelled.text.lower()
    assert "maya.patel@example.com" in members2


async def test_a_new_question_instead_of_a_confirmation_cancels_and_is_answered(open_agent):
    async with open_agent() as rt:
        conv = Conversation(rt, BOB)
        await conv.say("remove maya.patel@example.com from the engineering group")
        reply = await conv.say("what's the status of invoice INV-10042?")
        members = await rt.directory.group_members("engineering")
    assert reply.route == "tool" and reply.tool == "invoice_status"
    assert "maya.patel@example.com" in members


async def test_approval_is_refused_when_the_amount_changed_after_the_request(open_agent):
    async with open_agent() as rt:
        reply = await Conversation(rt, HECTOR).say("put a hold on invoice INV-10077")
        assert reply.approval is not None
        engine = rt.deps.approvals._sessions.kw["bind"]
        with engine.begin() as conn:  # the invoice is re-issued for a different amount meanwhile
            conn.execute(text("UPDATE invoices SET amount = 99999.00 WHERE id = 'INV-10077'"))
        await rt.agent.decide(reply.approval.approval_id, CAROL, True)
        await rt.agent.decide(reply.approval.approval_id, DAN, True)
        hold = rt.ledger.invoice_status("INV-10077").hold
        notes = rt.local_outbox.drain("c1")
    assert hold is None, "an approval for one amount must not be used for another"
    assert any("no longer valid" in n["text"] for n in notes)


async def test_agent_on_postgresql_with_postgres_checkpoints(open_agent, fresh_pg_url):
    from bot.cli_db import upgrade

    await asyncio.to_thread(upgrade, fresh_pg_url)  # PostgreSQL is never migrated silently at start-up
    async with open_agent(database_url=fresh_pg_url) as rt:
        reply = await Conversation(rt, HECTOR).say("put a hold on invoice INV-10077")
        assert reply.approval is not None
        await rt.agent.decide(reply.approval.approval_id, CAROL, True)
        outcome = await rt.agent.decide(reply.approval.approval_id, DAN, True)
        hold = rt.ledger.invoice_status("INV-10077").hold
        saver = type(rt.agent.graph.checkpointer).__name__
    assert saver == "AsyncPostgresSaver"
    assert outcome.approval is not None and outcome.approval.status == "executed"
    assert hold is not None


@pytest.mark.parametrize(
    "question",
    [
        "How much is Maya Patel paid?",
        "How many PTO days does Maya Patel have left?",
        "what's Sam Taylor's home address",
    ],
)
async def test_a_coworkers_private_data_is_declined_without_running_a_tool(open_agent, question):
    async with open_agent() as rt:
        reply = await Conversation(rt, BOB).say(question)
    assert reply.route == "no_answer"
    assert reply.tool is None
    assert "maya" not in reply.text.lower() and "sam" not in reply.text.lower()


async def test_a_general_how_to_question_naming_a_group_goes_to_the_handbook(open_agent):
    async with open_agent() as rt:
        reply = await Conversation(rt, BOB).say("How do I get added to the finance group?")
    assert reply.route == "answer" and reply.citations
    assert reply.tool is None


async def test_privileged_group_named_by_display_name_still_needs_four_eyes(open_agent):
    async with open_agent() as rt:
        reply = await Conversation(rt, BOB).say("add maya.patel@example.com to IT Admins")
    assert reply.approval is not None
    assert reply.approval.arguments["group"] == "it-admins"
    assert reply.approval.mode == "four_eyes"


async def test_feedback_is_audited_with_the_answers_sources_and_words(open_agent):
    async with open_agent() as rt:
        reply = await Conversation(rt, BOB).say("How do I get VPN access?")
        assert reply.audit_id and reply.citations
        sources = tuple(ref.source for ref in reply.citations)
        await rt.agent.feedback(reply.audit_id, BOB, False, sources=sources, comment="x" * 600)
        await rt.agent.feedback(reply.audit_id, CAROL, True)
        entries = [e for e in rt.deps.audit.tail(5) if e.kind == "feedback"]
    first, second = entries[-2:]
    assert first.actor == BOB and first.request_id == reply.audit_id
    assert first.payload == {"answer": reply.audit_id, "helpful": False, "sources": list(sources), "comment": "x" * 500}
    # A rating without sources (Slack's native buttons) gets the sources recorded with the answer itself.
    assert second.payload == {"answer": reply.audit_id, "helpful": True, "sources": list(sources)}
