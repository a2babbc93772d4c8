"""Fixtures for LLM mode: the OpenAI- and Anthropic-compatible test servers on 127.0.0.1, and clients
built by the production factory (real langchain-openai / langchain-anthropic over HTTP)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from graphs.llm import Breakers, LLMClient, ModelConfig, build_chat_model
from tests.emulators import anthropic_api, openai_api


@pytest.fixture
async def openai_server() -> AsyncIterator[openai_api.OpenAIEmulator]:
    server = openai_api.OpenAIEmulator()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def anthropic_server() -> AsyncIterator[anthropic_api.AnthropicEmulator]:
    server = anthropic_api.AnthropicEmulator()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def openai_config(openai_server: openai_api.OpenAIEmulator) -> Callable[..., ModelConfig]:
    def make(**overrides: Any) -> ModelConfig:
        values: dict[str, Any] = {
            "model": "openai:emulated-gpt",
            "base_url": openai_server.base_url,
            "api_key": openai_api.API_KEY,
            "timeout_s": 3.0,
            "max_retries": 2,
        }
        values.update(overrides)
        return ModelConfig(**values)

    return make


@pytest.fixture
def openai_client(openai_config: Callable[..., ModelConfig]) -> Callable[..., LLMClient]:
    def make(breakers: Breakers | None = None, **overrides: Any) -> LLMClient:
        config = openai_config(**overrides)
        return LLMClient(build_chat_model(config), config, breakers or Breakers(config.breaker_failures))

    return make


@pytest.fixture
def llm_settings(tmp_path: Any, sample_index: Any, openai_server: openai_api.OpenAIEmulator) -> Callable[..., Any]:
    """Settings of a whole runtime in LLM mode against the OpenAI-compatible test server."""
    from bot.settings import Settings

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "index_dir": sample_index,
            "llm_model": "openai:emulated-gpt",
            "llm_base_url": openai_server.base_url,
            "llm_api_key": openai_api.API_KEY,
            "llm_timeout_seconds": 2.0,
            "llm_max_retries": 1,
        }
        values.update(overrides)
        return Settings(**values)

    return make
