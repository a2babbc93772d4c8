"""Deskhand's tools, defined once: the registry the agent, the policy and an LLM all use.

Each tool is a `ToolSpec` (see `tools.tool_spec`) declared whole in one place: a pydantic argument model
whose field descriptions are the model-facing contract, a docstring, `read_only` and `sensitive` flags,
the router slots it needs and how they become arguments, the entity kinds that hint at it, its title,
the facts that are the state it flips, `facts()` for the risk policy, `redact()` for approval cards and
the audit log, and `run(args, ctx)` returning a `ToolResult`. The caller's identity and the idempotency
key travel in a `ToolContext`, never in the model's schema.

Tools live in modules named `tools/<area>_tools.py`, each with a function `<area>_tools(env)` returning
its specs; every such module is picked up here. A tool also needs an intent (examples in
graphs/understanding/intents.yaml, under the tool's name) and a rule in the risk policy
(graphs/governance/policy.yaml): the start-up check (`bot.tool_check`) refuses to start without them.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from tools.tool_env import ToolEnv
from tools.tool_spec import ToolContext, ToolResult, ToolSpec, json_safe

if TYPE_CHECKING:  # LangChain loads only when an LLM needs the tools (not for reading approvals)
    from langchain_core.tools import StructuredTool

Factory = Callable[[ToolEnv], list[ToolSpec]]


def tool_modules() -> list[str]:
    """The modules holding tools (`tools/*_tools.py`), in name order."""
    here = [str(Path(__file__).resolve().parent)]
    return sorted(f"tools.{m.name}" for m in pkgutil.iter_modules(here) if m.name.endswith("_tools"))


def build_tools(env: ToolEnv) -> dict[str, ToolSpec]:
    """Every tool by name, closed over the clients in `env`."""
    specs: dict[str, ToolSpec] = {}
    for module_name in tool_modules():
        area = module_name.rsplit(".", 1)[1]
        factory = cast(Factory, getattr(importlib.import_module(module_name), area))
        for spec in factory(env):
            if spec.name in specs:
                raise ValueError(f"two tools are named {spec.name!r} (the second in {module_name})")
            specs[spec.name] = spec
    return specs


def entity_affinity(specs: Mapping[str, ToolSpec]) -> dict[str, tuple[str, ...]]:
    """Each tool's entity kinds: an extracted kind makes the tools declaring it more plausible."""
    return {name: spec.entity_kinds for name, spec in specs.items() if spec.entity_kinds}


def _as_langchain(spec: ToolSpec, ctx_factory: Callable[[], ToolContext]) -> StructuredTool:
    from langchain_core.tools import StructuredTool

    async def call(**kwargs: Any) -> tuple[str, ToolResult]:
        result = await spec.run(kwargs, ctx_factory())
        return result.summary, result

    return StructuredTool.from_function(
        coroutine=call,
        name=spec.name,
        description=spec.description,
        args_schema=spec.args_model,
        response_format="content_and_artifact",  # the model reads the summary; the graph gets the result
        metadata={"read_only": spec.read_only, "sensitive": spec.sensitive},
    )


def as_langchain_tools(
    specs: Mapping[str, ToolSpec] | Iterable[ToolSpec], ctx_factory: Callable[[], ToolContext]
) -> list[StructuredTool]:
    """LangChain tools with the same argument schemas, for an LLM with tool calling. `ctx_factory`
    supplies the requester and idempotency key at call time (hidden from the model)."""
    items = specs.values() if isinstance(specs, Mapping) else specs
    return [_as_langchain(spec, ctx_factory) for spec in items]


__all__ = [
    "ToolContext",
    "ToolEnv",
    "ToolResult",
    "ToolSpec",
    "as_langchain_tools",
    "build_tools",
    "entity_affinity",
    "json_safe",
]
