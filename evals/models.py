"""Stand-ins and meters around chat models: a recording model that never calls a tool (for the PII checks)
and a callback that counts the tokens an LLM-backed run spends."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult, LLMResult
from pydantic import Field

from evals.results import Usage


class RecordingChatModel(BaseChatModel):
    """Records every message list it is sent and answers with no tool call (so the offline router decides)."""

    calls: list[list[str]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "eval-recording"

    def _generate(
        self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        self.calls.append([str(m.content) for m in messages])
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=""))])

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Any:
        return self  # the tool schemas carry no personal data; only the messages are recorded

    def sent_text(self) -> str:
        return "\n".join(text for call in self.calls for text in call)


class UsageMeter(BaseCallbackHandler):
    """Adds up the token usage a chat model reports for each call."""

    def __init__(self, usage: Usage) -> None:
        self.usage = usage

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        self.usage.calls += 1
        for generations in response.generations:
            for gen in generations:
                meta = getattr(getattr(gen, "message", None), "usage_metadata", None) or {}
                self.usage.input_tokens += int(meta.get("input_tokens", 0))
                self.usage.output_tokens += int(meta.get("output_tokens", 0))


def meter_runtime(rt: Any, usage: Usage) -> None:
    """Count the tokens of the runtime's LLM understander, if it has one (the offline engine has none)."""
    understander = getattr(rt.deps, "understander", None)
    client = getattr(understander, "client", None)
    if client is not None:  # LLM mode's client: tool choice and grounded answers share it
        client.callbacks.append(UsageMeter(usage))
