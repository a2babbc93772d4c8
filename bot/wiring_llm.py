"""LLM mode's part of the composition root: the chat model from settings, its resilient client, the
tool-calling understander, the grounded answerer and the usage/budget store (nothing when unset)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from bot.settings import PACKAGE_ROOT, Settings, SettingsError
from graphs.llm import (
    Breakers,
    GroundedAnswerer,
    LLMClient,
    LLMSetupError,
    ModelConfig,
    ToolCallingUnderstander,
    UsageEvent,
    build_chat_model,
)
from graphs.llm.usage import Budgets, Prices, UsageStore
from tools.catalog import ToolContext, as_langchain_tools

log = logging.getLogger(__name__)
DEFAULT_PRICES = PACKAGE_ROOT / "evals" / "prices.yaml"


@dataclass
class LLMParts:
    config: ModelConfig
    client: LLMClient
    understander: ToolCallingUnderstander
    generator: GroundedAnswerer | None
    usage: UsageStore


def model_config(settings: Settings) -> ModelConfig:
    assert settings.llm_model is not None
    return ModelConfig(
        model=settings.llm_model,
        base_url=settings.llm_base_url,
        api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else None,
        timeout_s=settings.llm_timeout_seconds,
        max_retries=settings.llm_max_retries,
        breaker_failures=settings.llm_breaker_failures,
        breaker_reset_s=settings.llm_breaker_reset_seconds,
    )


def build_model(config: ModelConfig) -> Any:
    """The chat model, or a one-line SettingsError naming the extra to install."""
    try:
        return build_chat_model(config)
    except LLMSetupError as exc:
        raise SettingsError(str(exc)) from None


def usage_store(settings: Settings, sessions: Any) -> UsageStore:
    prices = Prices.load(settings.llm_prices_file or DEFAULT_PRICES)
    return UsageStore(sessions, prices, clock=lambda: datetime.now(UTC))


def build_llm(
    settings: Settings,
    *,
    tools: dict[str, Any],
    sessions: Any,
    directory: Any,
    audit: Any,
    names: Callable[[], list[str]],
    metrics: Any = None,
) -> LLMParts | None:
    """Everything LLM mode needs, or None for the offline engine. With `metrics` (bot.metrics.Metrics),
    every model call's tokens are counted in `deskhand_llm_tokens_total{model,kind}`."""
    if not settings.llm_model:
        return None
    config = model_config(settings)
    model = build_model(config)
    store = usage_store(settings, sessions)

    async def team_of(user: str | None) -> str | None:
        if not user:
            return None
        try:
            person = await directory.get(user)
        except Exception:  # an unreachable directory must not fail the turn; the call is simply not billed to a team
            log.warning("could not look up the team of a model call's user")
            return None
        return getattr(person, "department", None) if person else None

    async def admins_of(team: str) -> list[str]:
        # A team's admins: its members whose manager sits outside the team (the team's heads).
        people = await directory.known_people()
        members = {p.email for p in people if p.department == team}
        return sorted(p.email for p in people if p.email in members and p.manager_email not in members)

    async def notify(team: str, admins: list[str], spent: Decimal, budget: Decimal) -> None:
        log.warning("LLM budget of team %s spent (%s of %s USD): offline engine until next month", team, spent, budget)
        await asyncio.to_thread(
            audit.append,
            "llm_budget_exhausted",
            actor="system",
            payload={"team": team, "admins": admins, "spent_usd": str(spent), "budget_usd": str(budget)},
        )

    budgets = Budgets(store, settings.llm_team_budgets, team_of, admins_of, notify)

    async def sink(event: UsageEvent) -> None:
        if metrics is not None:  # counted first: the metric holds even when the usage row can't be written
            metrics.llm_tokens.labels(model=event.model, kind="prompt").inc(event.input_tokens)
            metrics.llm_tokens.labels(model=event.model, kind="completion").inc(event.output_tokens)
        await budgets.sink(event)

    client = LLMClient(
        model,
        config,
        Breakers(config.breaker_failures, config.breaker_reset_s),
        gate=budgets.gate if settings.llm_team_budgets else None,
        sink=sink,
    )
    keep = tuple(settings.llm_send_unmasked)
    # The schemas only: the model never runs a tool; the graph validates and runs it behind the policy.
    lc_tools = as_langchain_tools(tools, lambda: ToolContext(requester=""))
    understander = ToolCallingUnderstander(model, lc_tools, client=client, people=names, keep=keep)
    generator = GroundedAnswerer(client, people=names, keep=keep) if settings.llm_answers else None
    return LLMParts(config, client, understander, generator, store)
