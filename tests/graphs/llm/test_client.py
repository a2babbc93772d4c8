"""The resilient client over real HTTP: langchain-openai / langchain-anthropic against the test servers."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from langchain_core.messages import HumanMessage

from graphs.llm import Breakers, LLMClient, LLMUnavailable, ModelConfig, build_chat_model
from graphs.llm.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker
from tests.emulators import anthropic_api
from tests.emulators.anthropic_api import AnthropicEmulator
from tests.emulators.llm_script import Script, ToolCall
from tests.emulators.openai_api import OpenAIEmulator

HI = [HumanMessage("hello")]


async def test_a_reply_comes_back_with_usage_from_the_provider(
    openai_server: OpenAIEmulator, openai_client: Callable[..., LLMClient]
):
    events = []

    async def sink(event):  # type: ignore[no-untyped-def]
        events.append(event)

    client = openai_client()
    client.sink = sink
    openai_server.book.push(Script(content="Hi there."))
    reply = await client.invoke(HI, purpose="check", user="bob.martin@example.com")
    assert reply.content == "Hi there."
    assert events[0].input_tokens > 0 and events[0].output_tokens > 0
    assert (events[0].purpose, events[0].user, events[0].model) == (
        "check",
        "bob.martin@example.com",
        "openai:emulated-gpt",
    )
    assert openai_server.requests[0].body["messages"][-1]["content"] == "hello"


async def test_500_then_success_is_retried(openai_server: OpenAIEmulator, openai_client: Callable[..., LLMClient]):
    openai_server.book.fail(500, times=2)
    openai_server.book.push(Script(content="third time"))
    reply = await openai_client().invoke(HI, purpose="t", user=None)
    assert reply.content == "third time"
    assert [r.status for r in openai_server.requests] == [500, 500, 200]


async def test_429_waits_for_retry_after(openai_server: OpenAIEmulator, openai_client: Callable[..., LLMClient]):
    openai_server.book.fail(429, retry_after=0.6)
    openai_server.book.push(Script(content="ok"))
    await openai_client().invoke(HI, purpose="t", user=None)
    first, second = openai_server.requests
    assert second.at - first.at >= 0.6


async def test_a_retry_after_beyond_the_budget_gives_up_at_once(
    openai_server: OpenAIEmulator, openai_client: Callable[..., LLMClient]
):
    openai_server.book.fail(429, retry_after=30)
    started = time.monotonic()
    with pytest.raises(LLMUnavailable) as caught:
        await openai_client(timeout_s=3.0).invoke(HI, purpose="t", user=None)
    assert caught.value.reason == "http_429"
    assert time.monotonic() - started < 1.0
    assert len(openai_server.requests) == 1


async def test_a_400_is_not_retried(openai_server: OpenAIEmulator, openai_client: Callable[..., LLMClient]):
    openai_server.book.fail(400)
    with pytest.raises(LLMUnavailable):
        await openai_client().invoke(HI, purpose="t", user=None)
    assert len(openai_server.requests) == 1


async def test_a_slow_model_is_cut_at_the_time_budget(
    openai_server: OpenAIEmulator, openai_client: Callable[..., LLMClient]
):
    openai_server.book.push(*[Script(content="late", delay=5) for _ in range(3)])
    started = time.monotonic()
    with pytest.raises(LLMUnavailable) as caught:
        await openai_client(timeout_s=0.8).invoke(HI, purpose="t", user=None)
    elapsed = time.monotonic() - started
    assert caught.value.reason == "timeout"
    assert 0.7 <= elapsed < 2.5  # the server would take 15 s; the fallback budget is measured in bench/


async def test_the_breaker_opens_after_n_failures_and_stops_calling(
    openai_server: OpenAIEmulator, openai_client: Callable[..., LLMClient]
):
    client = openai_client(max_retries=0, breaker_failures=3)
    openai_server.book.fail(500, times=3)
    for _ in range(3):
        with pytest.raises(LLMUnavailable):
            await client.invoke(HI, purpose="t", user=None)
    assert client.breaker.state == OPEN
    with pytest.raises(LLMUnavailable) as caught:
        await client.invoke(HI, purpose="t", user=None)
    assert caught.value.reason == "breaker_open"
    assert len(openai_server.requests) == 3  # nothing went out while open


async def test_the_breaker_half_opens_after_the_reset_time_and_recovers(
    openai_server: OpenAIEmulator, openai_config: Callable[..., ModelConfig]
):
    now = [0.0]
    config = openai_config(max_retries=0, breaker_failures=2, breaker_reset_s=10)
    breakers = Breakers(2, 10, clock=lambda: now[0])
    client = LLMClient(build_chat_model(config), config, breakers)
    openai_server.book.fail(500, times=3)
    for _ in range(2):
        with pytest.raises(LLMUnavailable):
            await client.invoke(HI, purpose="t", user=None)
    now[0] = 9.9
    with pytest.raises(LLMUnavailable, match="breaker_open"):
        await client.invoke(HI, purpose="t", user=None)
    now[0] = 10.0  # half-open: one probe; it fails, so the breaker opens again
    with pytest.raises(LLMUnavailable, match="http_500"):
        await client.invoke(HI, purpose="t", user=None)
    assert client.breaker.state == OPEN
    now[0] = 20.0
    openai_server.book.push(Script(content="back"))
    assert (await client.invoke(HI, purpose="t", user=None)).content == "back"
    assert client.breaker.state == CLOSED and client.breaker.failures == 0
    assert len(openai_server.requests) == 4


def test_half_open_lets_only_one_probe_through():
    now = [0.0]
    breaker = CircuitBreaker(1, 5.0, clock=lambda: now[0])
    breaker.failure()
    now[0] = 6.0
    assert breaker.allow() and breaker.state == HALF_OPEN
    assert not breaker.allow()
    breaker.success()
    assert breaker.allow() and breaker.allow()


async def test_streaming_delivers_text_deltas_and_usage(
    openai_server: OpenAIEmulator, openai_client: Callable[..., LLMClient]
):
    events = []

    async def sink(event):  # type: ignore[no-untyped-def]
        events.append(event)

    client = openai_client()
    client.sink = sink
    text = "You get 20 days of paid time off each year [1]. Unused days carry over up to 5 days [1]."
    openai_server.book.push(Script(content=text))
    deltas = [d async for d in client.stream(HI, purpose="answer", user=None)]
    assert len(deltas) > 3 and "".join(deltas) == text
    assert openai_server.requests[0].body["stream"] is True
    assert events and events[0].output_tokens > 0  # usage from the stream's final chunk


async def test_a_failure_before_the_first_delta_is_retried_but_a_cut_stream_is_not(
    openai_server: OpenAIEmulator, openai_client: Callable[..., LLMClient]
):
    client = openai_client()
    openai_server.book.fail(503)
    openai_server.book.push(Script(content="Recovered fine."))
    assert "".join([d async for d in client.stream(HI, purpose="answer", user=None)]) == "Recovered fine."
    openai_server.book.push(Script(content="A long answer that is cut off half way through its text.", truncate=True))
    got: list[str] = []
    with pytest.raises(LLMUnavailable):
        async for d in client.stream(HI, purpose="answer", user=None):
            got.append(d)
    assert got and len("".join(got)) < 40
    assert len(openai_server.requests) == 3


async def test_invalid_json_tool_arguments_are_reported_not_raised(
    openai_server: OpenAIEmulator, openai_client: Callable[..., LLMClient]
):
    openai_server.book.push(Script(tool_calls=[ToolCall("invoice_status", raw_arguments='{"invoice_id": ')]))
    reply = await openai_client().invoke(HI, purpose="t", user=None)
    assert reply.tool_calls == [] and reply.invalid_tool_calls[0]["name"] == "invoice_status"


async def test_anthropic_messages_api_invoke_stream_tools_and_overload(anthropic_server: AnthropicEmulator):
    config = ModelConfig("anthropic:emulated-claude", anthropic_server.base_url, anthropic_api.API_KEY, 3.0, 2)
    events = []

    async def sink(event):  # type: ignore[no-untyped-def]
        events.append(event)

    client = LLMClient(build_chat_model(config), config, Breakers(), sink=sink)
    anthropic_server.book.fail(529)
    anthropic_server.book.push(Script(content="Hello from Claude."))
    assert (await client.invoke(HI, purpose="t", user=None)).content == "Hello from Claude."
    assert [r.status for r in anthropic_server.requests] == [529, 200]
    assert anthropic_server.requests[-1].body["max_tokens"] > 0
    anthropic_server.book.push(Script(content="Streamed words arrive in pieces."))
    assert "".join([d async for d in client.stream(HI, purpose="answer", user=None)]) == (
        "Streamed words arrive in pieces."
    )
    anthropic_server.book.push(Script(tool_calls=[ToolCall("invoice_status", {"invoice_id": "INV-10042"})]))
    reply = await client.invoke(HI, runnable=client.model.bind_tools([_tool()]), purpose="t", user=None)
    assert reply.tool_calls[0]["args"] == {"invoice_id": "INV-10042"}
    assert anthropic_server.requests[-1].body["tools"][0]["name"] == "invoice_status"
    assert all(e.input_tokens > 0 for e in events) and len(events) == 3


def _tool() -> dict[str, object]:
    return {
        "name": "invoice_status",
        "description": "Status of an invoice",
        "input_schema": {"type": "object", "properties": {"invoice_id": {"type": "string"}}},
    }


async def test_after_a_failure_the_same_turn_does_not_wait_for_the_provider_again(
    openai_server: OpenAIEmulator, openai_client: Callable[..., LLMClient]
):
    client = openai_client(max_retries=0)
    openai_server.book.fail(500)
    with pytest.raises(LLMUnavailable, match="http_500"):
        await client.invoke(HI, purpose="understand", user=None, turn="T1")
    with pytest.raises(LLMUnavailable, match="failed earlier in this turn"):
        _ = [d async for d in client.stream(HI, purpose="answer", user=None, turn="T1")]
    openai_server.book.push(Script(content="fine"))
    assert "".join([d async for d in client.stream(HI, purpose="answer", user=None, turn="T2")]) == "fine"
    assert len(openai_server.requests) == 2
