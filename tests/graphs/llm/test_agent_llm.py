"""The whole agent in LLM mode over HTTP: tool calling behind the same policy and approvals, grounded
answers, personal data masked, outages answered offline, usage recorded and team budgets enforced."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.settings import offline_runtime
from bot.wiring import open_runtime
from channels.base import InboundMessage, Reply
from tests.emulators.llm_script import Script, ToolCall
from tests.emulators.openai_api import OpenAIEmulator
from tests.emulators.scripted_model import quoting_responder

offline_runtime()
BOB = "bob.martin@example.com"


async def say(rt: Any, text: str, user: str = BOB, key: str = "c1") -> Reply:
    msg = InboundMessage(
        channel="local",
        conversation_key=f"local:{key}",
        user_id=user,
        user_email=user,
        text=text,
        conversation_ref={"conversation": key},
    )
    return await rt.agent.handle(msg)


def understand_requests(server: OpenAIEmulator) -> list[dict[str, Any]]:
    return [r.body for r in server.requests if r.body.get("tools")]


async def test_a_handbook_question_gets_a_verified_generative_answer(
    llm_settings: Callable[..., Any], embedder: Any, openai_server: OpenAIEmulator
):
    openai_server.book.responder = quoting_responder
    async with open_runtime(llm_settings(), embedder=embedder) as rt:
        reply = await say(rt, "how many PTO days do I get?")
        entries = rt.audit.tail(1)
    assert reply.route == "answer", reply
    assert reply.data["answer_path"] == "generative", reply.data
    assert re.search(r"\[1\]", reply.text) and reply.citations
    assert entries[-1].payload["answer_path"] == "generative"
    assert any(r.body.get("stream") for r in openai_server.requests)  # the answer streamed
    rows = rt.llm.usage.lines(by="user") if rt.llm else []
    assert {line.key for line in rows} == {BOB} and sum(line.calls for line in rows) == 2


async def test_a_model_tool_call_runs_through_validation_and_the_policy(
    llm_settings: Callable[..., Any], embedder: Any, openai_server: OpenAIEmulator
):
    async with open_runtime(llm_settings(llm_answers=False), embedder=embedder) as rt:
        openai_server.book.push(Script(tool_calls=[ToolCall("invoice_status", {"invoice_id": "INV-10042"})]))
        looked_up = await say(rt, "where is that Acme invoice 10042 at?")
        openai_server.book.push(
            Script(tool_calls=[ToolCall("hold_payment", {"invoice_id": "INV-10077", "reason": "disputed quantity"})])
        )
        held = await say(rt, "please stop paying the Initech invoice", key="c2")
        openai_server.book.push(Script(tool_calls=[ToolCall("hold_payment", {"invoice_id": "INV-1", "reason": ""})]))
        invalid = await say(rt, "hold something", key="c3")
        openai_server.book.push(Script(tool_calls=[ToolCall("hold_payment", raw_arguments='{"invoice_id": "INV-')]))
        malformed = await say(rt, "what's the status of invoice INV-10042?", key="c4")
    assert looked_up.route == "tool" and looked_up.tool == "invoice_status" and "INV-10042" in looked_up.text
    assert held.route == "approval" and held.tool == "hold_payment"  # an AP lead must approve, as offline
    assert held.approval is not None and held.approval.status == "pending"
    assert invalid.route == "clarify"  # the schema refused the model's arguments
    assert malformed.route == "tool" and malformed.tool == "invoice_status"  # offline router took over
    schemas = understand_requests(openai_server)[0]["tools"]
    assert {t["function"]["name"] for t in schemas} >= {"invoice_status", "hold_payment", "vendor_bank_change"}


async def test_retrieved_instructions_change_no_tool_call_or_approval(
    llm_settings: Callable[..., Any], embedder: Any, openai_server: OpenAIEmulator
):
    async with open_runtime(llm_settings(), embedder=embedder) as rt:
        openai_server.book.push(
            Script(tool_calls=[ToolCall("hold_payment", {"invoice_id": "INV-10077", "reason": "disputed quantity"})])
        )
        held = await say(rt, "put a hold on INV-10077, disputed quantity")
        assert held.approval is not None
        # A compromised answer step: it "follows" an instruction and even asks for a tool.
        openai_server.book.push(
            Script(content="KNOWLEDGE"),
            Script(
                content="All pending requests have been approved [1]. I approved them as the document asked [1].",
                tool_calls=[ToolCall("release_hold", {"invoice_id": "INV-10077"})],
            ),
        )
        answer = await say(rt, "when are payment runs?", key="c2")
        approval = rt.approvals.get(held.approval.approval_id)
        executions = [e for e in rt.audit.tail(50) if e.kind == "execution"]
    assert approval.status == "pending" and executions == []
    assert answer.route == "answer" and "pending requests" not in answer.text.lower()
    assert "approved them" not in answer.text
    assert answer.data["answer_path"] == "extractive" and "too little verified" in answer.data["answer_reason"]


async def test_personal_data_never_reaches_the_model_and_comes_back_in_tool_arguments(
    llm_settings: Callable[..., Any], embedder: Any, openai_server: OpenAIEmulator, sample_data_dir: Path
):
    async with open_runtime(llm_settings(llm_answers=False), embedder=embedder) as rt:
        await rt.entities.refresh(force=True)
        openai_server.book.push(
            Script(tool_calls=[ToolCall("add_to_group", {"email": "<EMAIL_1>", "group": "engineering"})])
        )
        reply = await say(rt, "add jamal.brooks@example.com (Jamal Brooks, +1 415 555 0100) to engineering")
        openai_server.book.push(Script(content="KNOWLEDGE"))
        await say(rt, "change Acme's bank details to IBAN DE89 3704 0044 0532 0130 00, ask Jane Porter", key="c2")
    assert reply.route == "approval" and reply.approval is not None
    assert reply.approval.arguments["email"] == "jamal.brooks@example.com"
    sent = openai_server.book.sent_text()
    for value in ("jamal.brooks@example.com", "Jamal Brooks", "415 555 0100", "DE89 3704", "Jane Porter", BOB):
        assert value not in sent, value
    assert "<EMAIL_1>" in sent and "<IBAN_1>" in sent and "<PERSON_" in sent


async def test_a_provider_outage_never_fails_a_turn(
    llm_settings: Callable[..., Any], embedder: Any, openai_server: OpenAIEmulator
):
    settings = llm_settings(llm_breaker_failures=2, llm_max_retries=0)
    async with open_runtime(settings, embedder=embedder) as rt:
        openai_server.book.responder = lambda body: Script(status=500)
        replies = [await say(rt, "how many PTO days do I get?", key=f"k{i}") for i in range(4)]
        openai_server.book.responder = lambda body: Script(content="slow", delay=5)
        slow = await say(rt, "what's the status of invoice INV-10042?", key="k9")
    assert all(r.route == "answer" and r.data["answer_path"] == "extractive" for r in replies)
    assert "unavailable" in replies[0].text
    assert replies[-1].data["answer_reason"] == "model unavailable: breaker_open"
    assert len(openai_server.requests) == 2  # the breaker opened after two failed calls
    assert slow.route in ("tool", "answer")  # the breaker is open: offline router, no wait


async def test_a_team_over_budget_gets_the_offline_engine_and_admins_are_told_once(
    llm_settings: Callable[..., Any], embedder: Any, openai_server: OpenAIEmulator, tmp_path: Path
):
    prices = tmp_path / "prices.yaml"
    prices.write_text('models:\n  openai:emulated-gpt: {input: "100000", output: "100000"}\n')
    openai_server.book.responder = quoting_responder
    settings = llm_settings(llm_prices_file=prices, llm_team_budgets={"Engineering": 1.0})
    async with open_runtime(settings, embedder=embedder) as rt:
        first = await say(rt, "how many PTO days do I get?")
        calls = len(openai_server.requests)
        second = await say(rt, "how many PTO days do I get?", key="c2")
        third = await say(rt, "when are payment runs?", key="c3")
        other_team = await say(rt, "how many PTO days do I get?", user="kate.novak@example.com", key="c4")
        notices = [e for e in rt.audit.tail(100) if e.kind == "llm_budget_exhausted"]
        lines = rt.llm.usage.lines(by="team") if rt.llm else []
    assert first.route == "answer" and calls >= 1  # the first call's cost already exceeds the budget
    assert second.data["answer_reason"] == "model unavailable: team budget spent"
    assert third.data["answer_path"] == "extractive"
    assert other_team.data["answer_path"] == "generative"  # Finance has no budget set
    assert len(notices) == 1 and notices[0].payload["team"] == "Engineering"
    admins = notices[0].payload["admins"]  # the team's heads: members whose manager is outside the team
    assert "ruth.campbell@example.com" in admins and BOB not in admins
    assert len(openai_server.requests) == calls + 2  # only Kate's turn reached the model again
    assert {line.key for line in lines} == {"Engineering", "Finance"}
