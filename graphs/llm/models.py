"""Builds a LangChain chat model from `provider:model` with `init_chat_model` (the `llm` extra)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel

EXTRA_HINT = (
    "install the llm extra: DESKHAND_EXTRAS=llm scripts/run.sh, or pip install -e '.[llm]' in the Deskhand checkout"
)
PROVIDER_PACKAGES = {"openai": "langchain-openai", "anthropic": "langchain-anthropic", "ollama": "langchain-ollama"}


class LLMSetupError(Exception):
    """The configured model cannot be built (missing provider package, unknown provider)."""


@dataclass(frozen=True)
class ModelConfig:
    model: str  # provider:model, e.g. openai:gpt-4o-mini
    base_url: str | None = None
    api_key: str | None = None
    timeout_s: float = 20.0  # one logical call, retries included
    max_retries: int = 2
    breaker_failures: int = 5
    breaker_reset_s: float = 30.0

    @property
    def provider(self) -> str:
        return self.model.split(":", 1)[0]

    @property
    def name(self) -> str:
        return self.model.split(":", 1)[1]


def build_chat_model(config: ModelConfig) -> BaseChatModel:
    """The provider's LangChain chat model; the SDK's own retries are off (ours honour the breaker)."""
    try:
        from langchain.chat_models import init_chat_model
    except ImportError as exc:  # pragma: no cover - langchain is a core dependency
        raise LLMSetupError(f"langchain is missing; {EXTRA_HINT}") from exc
    kwargs: dict[str, Any] = {"temperature": 0}
    provider = config.provider
    if provider == "ollama":
        if config.base_url:
            kwargs["base_url"] = config.base_url
        kwargs["client_kwargs"] = {"timeout": config.timeout_s}
    else:
        kwargs.update(timeout=config.timeout_s, max_retries=0)
        if config.base_url:
            kwargs["base_url"] = config.base_url
        if config.api_key:
            kwargs["api_key"] = config.api_key
        if provider == "openai":
            kwargs["stream_usage"] = True  # token counts on streamed answers too
        if provider == "anthropic":
            kwargs["max_tokens"] = 1024
    try:
        return init_chat_model(config.model, **kwargs)
    except ImportError:
        package = PROVIDER_PACKAGES.get(provider, f"the LangChain package for {provider!r}")
        raise LLMSetupError(f"DESKHAND_LLM_MODEL needs {package}; {EXTRA_HINT}") from None
    except ValueError as exc:
        if "provider" in str(exc).lower():
            raise LLMSetupError(f"DESKHAND_LLM_MODEL: unsupported provider {provider!r}") from None
        raise
