"""Optional LLM understanding with tool calling, behind the same policy as the offline router.

Personal data is replaced by placeholders before a message leaves the process, and put back into the
tool arguments the model returns, so e-mail addresses and bank details never reach a third-party model."""

from __future__ import annotations

import re
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from graphs.prompts import SYSTEM_PROMPT

PII = [
    ("EMAIL", re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")),
    ("IBAN", re.compile(r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){2,7}(?:\s?[A-Z0-9]{1,4})?\b")),
    ("ACCOUNT", re.compile(r"\b\d[\d -]{6,20}\d\b")),
]


class Redactor:
    """Swaps personal data for stable placeholders and back."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def redact(self, text: str) -> str:
        for label, pattern in PII:

            def swap(m: re.Match[str], label: str = label) -> str:
                for key, value in self.values.items():
                    if value == m.group(0):
                        return key
                key = f"<{label}_{len(self.values) + 1}>"
                self.values[key] = m.group(0)
                return key

            text = pattern.sub(swap, text)
        return text

    def restore(self, value: Any) -> Any:
        if isinstance(value, str):
            for key, original in self.values.items():
                value = value.replace(key, original)
            return value
        if isinstance(value, dict):
            return {k: self.restore(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.restore(v) for v in value]
        return value


class ToolCallingUnderstander:
    """Asks a chat model which tool (if any) a message calls for, with the tools' own schemas."""

    def __init__(self, model: BaseChatModel, tools: list[Any]) -> None:
        self.bound = model.bind_tools(tools)

    async def understand(self, text: str, history: list[dict[str, str]]) -> tuple[str, dict[str, Any]] | None:
        redactor = Redactor()
        messages: list[BaseMessage] = [SystemMessage(SYSTEM_PROMPT)]
        for turn in history[-6:]:
            content = redactor.redact(turn["text"])
            messages.append(HumanMessage(content) if turn["role"] == "user" else AIMessage(content))
        messages.append(HumanMessage(redactor.redact(text)))
        ai = await self.bound.ainvoke(messages)
        calls = getattr(ai, "tool_calls", None) or []
        if not calls:
            return None
        call = calls[0]
        return str(call["name"]), redactor.restore(dict(call.get("args") or {}))


def build_chat_model(model: str, base_url: str | None, api_key: str | None) -> BaseChatModel:
    """`provider:model` (openai:gpt-4o-mini, anthropic:claude-…, ollama:llama3.1) via LangChain."""
    from langchain.chat_models import init_chat_model

    kwargs: dict[str, Any] = {"temperature": 0}
    if base_url:
        kwargs["base_url"] = base_url
    if api_key:
        kwargs["api_key"] = api_key
    return init_chat_model(model, **kwargs)
