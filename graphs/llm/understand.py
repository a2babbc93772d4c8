"""The model chooses a tool (or none) with the tools' own schemas; the arguments it returns still go
through validation, the policy and approvals like the offline router's. Personal data is masked first."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection, Iterable
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.utils.function_calling import convert_to_openai_tool

from graphs.llm.breaker import Breakers
from graphs.llm.client import LLMClient, LLMUnavailable
from graphs.llm.models import ModelConfig
from graphs.llm.redact import PLACEHOLDER, Redactor
from graphs.prompts import SYSTEM_PROMPT

log = logging.getLogger(__name__)
HISTORY_TURNS = 6


def masked_schemas(schema_json: str, redactor: Redactor) -> list[dict[str, Any]]:
    """The tools' schemas with personal examples in their descriptions (a real colleague's name or
    e-mail) replaced by a bare placeholder such as <PERSON>, which is never restored. Only the schemas'
    strings are masked: masking the JSON text would turn a long number (a maximum, a default) into a
    placeholder and break the JSON."""
    masker = Redactor(redactor.people_names, redactor.keep)

    def mask(value: Any) -> Any:
        if isinstance(value, str):
            return PLACEHOLDER.sub(lambda m: f"<{m.group(1)}>", masker.redact(value))
        if isinstance(value, list):
            return [mask(v) for v in value]
        if isinstance(value, dict):
            return {k: mask(v) for k, v in value.items()}  # keys are schema names, never personal
        return value

    schemas: list[dict[str, Any]] = mask(json.loads(schema_json))
    return schemas


class ToolCallingUnderstander:
    """Asks the model which tool a message calls for. None = let the offline router decide (no tool call,
    a malformed call, or the model unavailable)."""

    def __init__(
        self,
        model: BaseChatModel,
        tools: list[Any],
        *,
        client: LLMClient | None = None,
        people: Callable[[], Iterable[str]] = lambda: (),
        keep: Collection[str] = (),
    ) -> None:
        self.model = model
        self.schema_json = json.dumps([convert_to_openai_tool(t) for t in tools])
        self.client = client or LLMClient(model, ModelConfig("local:model"), Breakers())
        self.people, self.keep = people, keep
        self.last_error: str | None = None

    def redactor(self) -> Redactor:
        return Redactor(self.people(), self.keep)

    async def understand(
        self, text: str, history: list[dict[str, str]], user: str | None = None, turn: str | None = None
    ) -> tuple[str, dict[str, Any]] | None:
        redactor = self.redactor()
        messages: list[BaseMessage] = [SystemMessage(SYSTEM_PROMPT)]
        for past in history[-HISTORY_TURNS:]:
            content = redactor.redact(past["text"])
            messages.append(HumanMessage(content) if past["role"] == "user" else AIMessage(content))
        messages.append(HumanMessage(redactor.redact(text)))
        try:
            # Bound per request: the schemas are masked with today's directory names.
            bound = self.model.bind_tools(masked_schemas(self.schema_json, redactor))
            ai = await self.client.invoke(messages, runnable=bound, purpose="understand", user=user, turn=turn)
        except LLMUnavailable as exc:
            self.last_error = exc.reason
            return None
        except Exception:  # a bug here must not fail the turn: the offline router decides
            log.exception("tool choice by the model failed")
            self.last_error = "error"
            return None
        self.last_error = None
        calls = getattr(ai, "tool_calls", None) or []
        if not calls:
            if getattr(ai, "invalid_tool_calls", None):
                log.info("the model's tool call had malformed arguments; the offline router decides")
            return None
        call = calls[0]
        return str(call["name"]), redactor.restore(dict(call.get("args") or {}))
