"""Shared pieces of the understanding tests: the sample company's entities and the real intent router."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from graphs.context import AgentDeps
from graphs.query_vectors import QueryVectors
from graphs.understanding.intents import IntentRouter, load_examples
from graphs.understanding.slots import Entities, Person, SlotExtractor
from tools.catalog import ToolEnv, ToolSpec, build_tools
from tools.directory_data import load_directory_data
from tools.ledger_data import load_ledger_data

SAMPLE = Path(__file__).resolve().parents[3] / "tools" / "sample_data"
MIN_CONFIDENCE = {f.name: f.default for f in dataclasses.fields(AgentDeps)}["min_intent_confidence"]


def sample_entities() -> Entities:
    """People, groups and vendors of the sample company, as the agent's entity cache loads them."""
    directory = load_directory_data(SAMPLE / "directory.yaml")
    ledger = load_ledger_data(SAMPLE / "ledger.yaml")
    return Entities(
        people=[Person(p.email, f"{p.given_name} {p.family_name}") for p in directory.people],
        groups={g.name: [g.display_name] for g in directory.groups},
        vendors={v.name: list(v.aliases) for v in ledger.vendors},
    )


def tool_specs() -> dict[str, ToolSpec]:
    """The real tool declarations (the understanding steps never call a tool's clients)."""
    nobody = cast(Any, None)
    return build_tools(ToolEnv(nobody, nobody, nobody))


def router(embedder: Any, cache_dir: Path) -> IntentRouter:
    return IntentRouter(load_examples(), embedder.encode, cache_dir=cache_dir, embedder_name=embedder.name)


def understanding_deps(embedder: Any, intent_router: IntentRouter) -> Any:
    """What `understand` and `route` read from the agent's dependencies, with the real parts."""
    extractor = SlotExtractor(sample_entities())
    return SimpleNamespace(
        refresh_entities=None,
        slots=lambda: extractor,
        embed_query=embedder.encode_query,
        # Rewritten query text: `understand` then keeps no query vector for an answer step that never runs.
        knowledge=SimpleNamespace(query_text=lambda text: f"{text} (rewritten)"),
        router=intent_router,
        understander=None,
        tools=tool_specs(),
        query_vectors=QueryVectors(),
        min_intent_confidence=MIN_CONFIDENCE,
    )
