"""Graph factory for LangGraph Studio / `langgraph dev` (see langgraph.json): the embedded default."""

from __future__ import annotations

from typing import Any

from bot.settings import load_settings, offline_runtime
from bot.wiring import build_components
from graphs.graph import build_graph


def make_graph() -> Any:
    """Studio supplies its own checkpointer, so the graph is compiled without one."""
    offline_runtime()
    components = build_components(load_settings())
    return build_graph(components.deps).compile(name="deskhand")
