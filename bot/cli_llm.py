"""CLI commands of LLM mode: `deskhand llm check` (one tiny request) and `deskhand usage` (tokens, cost)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.settings import Settings


CHECK_PROMPT = "Reply with the single word OK."
USAGE_HELP = """Tokens the configured model spent, from the provider's usage fields, grouped by team, user or
model, with the cost from the price table (DESKHAND_LLM_PRICES_FILE, default evals/prices.yaml)."""


def register(sub: Any, settings_fn: Callable[[argparse.Namespace], Settings]) -> None:
    p = sub.add_parser("llm", help="LLM mode: check the configured model")
    llm_sub = p.add_subparsers(dest="llm_command", metavar="SUBCOMMAND", required=True)
    c = llm_sub.add_parser(
        "check", help="send one tiny request to DESKHAND_LLM_MODEL; print the model's name, latency and tokens"
    )
    c.set_defaults(func=lambda args: cmd_check(settings_fn(args)))
    u = sub.add_parser("usage", help="LLM tokens and cost by team or user", description=USAGE_HELP)
    u.add_argument("--since", type=date.fromisoformat, metavar="YYYY-MM-DD", help="only calls from this day on")
    u.add_argument("--by", choices=("team", "user", "model"), default="team", help="group by (default: team)")
    u.set_defaults(func=lambda args: cmd_usage(settings_fn(args), args.since, args.by))


def cmd_check(settings: Settings) -> int:
    from langchain_core.messages import HumanMessage

    from bot.wiring_llm import build_model, model_config
    from graphs.llm import Breakers, LLMClient, LLMUnavailable

    if not settings.llm_model:
        print("deskhand: DESKHAND_LLM_MODEL is not set (the offline engine answers)", file=sys.stderr)
        return 2
    config = model_config(settings)
    client = LLMClient(build_model(config), config, Breakers(config.breaker_failures, config.breaker_reset_s))
    started = time.perf_counter()
    try:
        reply = asyncio.run(client.invoke([HumanMessage(CHECK_PROMPT)], purpose="check", user=None))
    except LLMUnavailable as exc:
        print(f"{config.model}: no answer ({exc.reason}; time budget {config.timeout_s:g} s, retries included)")
        return 1
    ms = (time.perf_counter() - started) * 1000
    meta = reply.response_metadata or {}
    name = meta.get("model_name") or meta.get("model") or config.name
    usage: dict[str, Any] = dict(reply.usage_metadata or {})
    print(
        f"{config.model}: ok · model {name} · {ms:.0f} ms · "
        f"{usage.get('input_tokens', 0)} prompt + {usage.get('output_tokens', 0)} completion tokens"
    )
    return 0


def cmd_usage(settings: Settings, since: date | None, by: str) -> int:
    from rich.console import Console
    from rich.table import Table

    from bot.wiring_llm import usage_store
    from tools.storage.db import build_engine, build_sessionmaker, migrate

    engine = build_engine(settings.resolved_database_url)
    try:
        migrate(engine)
        store = usage_store(settings, build_sessionmaker(engine))
        start = datetime(since.year, since.month, since.day, tzinfo=UTC) if since else None
        lines = store.lines(start, by)
    finally:
        engine.dispose()
    table = Table(title=f"LLM usage by {by}" + (f" since {since}" if since else ""))
    for column in (by, "model", "calls", "prompt tokens", "completion tokens", "cost (USD)"):
        table.add_column(column, justify="right" if "token" in column or column in ("calls", "cost (USD)") else "left")
    for line in lines:
        cost = f"{line.cost_usd:.4f}" if line.cost_usd is not None else "unknown price"
        table.add_row(line.key, line.model, str(line.calls), str(line.input_tokens), str(line.output_tokens), cost)
    if not lines:
        table.add_row("-", "-", "0", "0", "0", "0")
    Console().print(table)
    return 0
