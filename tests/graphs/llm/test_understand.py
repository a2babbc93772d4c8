"""Tool choice over HTTP: history and schemas masked, arguments restored, failures left to the router."""

from __future__ import annotations

from collections.abc import Callable

from graphs.llm import LLMClient, ToolCallingUnderstander
from tests.emulators.llm_script import Script, ToolCall
from tests.emulators.openai_api import OpenAIEmulator


def _tool() -> dict[str, object]:
    return {
        "type": "function",
        "function": {
            "name": "find_user",
            "description": "Look up a coworker. Examples: 'maya.patel@example.com', 'Maya Patel'.",
            "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
        },
    }


async def test_a_conversation_with_history_is_masked_and_the_arguments_restored(
    openai_server: OpenAIEmulator, openai_client: Callable[..., LLMClient]
):
    client = openai_client(max_retries=0)
    understander = ToolCallingUnderstander(client.model, [_tool()], client=client, people=lambda: ["Maya Patel"])
    history = [{"role": "user", "text": "I work with Maya Patel (+1 415 555 0100)"}]
    openai_server.book.push(Script(tool_calls=[ToolCall("find_user", {"query": "<PERSON_1>"})]))
    choice = await understander.understand("look her up", history, user="bob.martin@example.com", turn="t1")
    assert choice == ("find_user", {"query": "Maya Patel"})
    sent = openai_server.book.sent_text()
    assert "Maya Patel" not in sent and "maya.patel@example.com" not in sent and "555 0100" not in sent
    body = openai_server.requests[0].body
    assert body["messages"][1]["content"] == "I work with <PERSON_1> (<PHONE_1>)"
    assert "Examples: '<EMAIL>', '<PERSON>'" in body["tools"][0]["function"]["description"]


async def test_failures_and_bad_calls_leave_the_choice_to_the_offline_router(
    openai_server: OpenAIEmulator, openai_client: Callable[..., LLMClient]
):
    client = openai_client(max_retries=0)
    understander = ToolCallingUnderstander(client.model, [_tool()], client=client)
    openai_server.book.push(
        Script(status=500),
        Script(tool_calls=[ToolCall("find_user", raw_arguments="{not json")]),
        Script(content="KNOWLEDGE"),
    )
    history = [{"role": "user", "text": "hello"}]
    for turn in ("t1", "t2", "t3"):
        assert await understander.understand("find someone", history, turn=turn) is None
    assert understander.last_error is None and len(openai_server.requests) == 3


async def test_a_lone_first_name_used_as_a_person_is_masked_but_an_ordinary_word_is_not(
    openai_server: OpenAIEmulator, openai_client: Callable[..., LLMClient]
):
    """ "Carol" alone names a directory person where the sentence puts one ("add Carol to…"), so it is masked
    and restored; "grace" in "the grace period" is an ordinary word and is sent as it is."""
    client = openai_client(max_retries=0)
    people = ["Carol Diaz", "Grace Kim", "Sam Taylor"]
    understander = ToolCallingUnderstander(client.model, [_tool()], client=client, people=lambda: people)
    history = [{"role": "user", "text": "what is the grace period for late invoices?"}]
    openai_server.book.push(Script(tool_calls=[ToolCall("find_user", {"query": "<PERSON_1>"})]))
    choice = await understander.understand("can you add Carol to AP leads? ask @sam.taylor", history, turn="t1")
    assert choice == ("find_user", {"query": "Carol"})
    sent = openai_server.book.sent_text()
    assert "Carol" not in sent and "sam.taylor" not in sent
    body = openai_server.requests[0].body
    assert body["messages"][1]["content"] == "what is the grace period for late invoices?"
    assert body["messages"][2]["content"] == "can you add <PERSON_1> to AP leads? ask <PERSON_2>"
