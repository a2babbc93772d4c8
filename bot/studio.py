"""Graph factory for LangGraph Studio / `langgraph dev` (see langgraph.json): the embedded default."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from bot.settings import load_settings, offline_runtime
from bot.wiring import build_components
from graphs.graph import build_graph

# LangGraph's config key for the run's runtime; a run started without `context=` (Studio's) inherits it.
RUNTIME_KEY = "__pregel_runtime"


def make_graph() -> Any:
    """Studio supplies its own checkpointer, so the graph is compiled without one; it cannot pass our
    dependencies as `context=`, so they are bound to the compiled graph as its default runtime."""
    offline_runtime()
    components = build_components(load_settings())
    graph = build_graph().compile(name="deskhand")
    return graph.with_config(configurable={RUNTIME_KEY: Runtime(context=components.deps)})
