"""Deskhand's tools, defined once: the registry the agent, the policy and an LLM all use.

Each tool is a `ToolSpec` (see `tools.tool_spec`): a pydantic argument model whose field descriptions
are the model-facing contract, a docstring, `read_only` and `sensitive` flags, `facts()` for the risk
policy, `redact()` for approval cards and the audit log, and `run(args, ctx)` returning a `ToolResult`.
The caller's identity and the idempotency key travel in a `ToolContext`, never in the model's schema.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from langchain_core.tools import StructuredTool

from tools.directory import Directory
from tools.directory_tools import directory_tools
from tools.ledger import Ledger
from tools.ledger_tools import ledger_tools
from tools.tool_spec import ToolContext, ToolResult, ToolSpec, json_safe

TOOL_NAMES = (
    "find_user",
    "create_user",
    "add_to_group",
    "remove_from_group",
    "deactivate_user",
    "invoice_status",
    "vendor_payments",
    "hold_payment",
    "release_hold",
    "vendor_bank_change",
)


def build_tools(directory: Directory, ledger: Ledger) -> dict[str, ToolSpec]:
    """Every tool by name, closed over its client."""
    specs = {spec.name: spec for spec in (*directory_tools(directory), *ledger_tools(ledger))}
    assert tuple(specs) == TOOL_NAMES, "tool names are part of the router's contract"
    return specs


def _as_langchain(spec: ToolSpec, ctx_factory: Callable[[], ToolContext]) -> StructuredTool:
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
    "TOOL_NAMES",
    "ToolContext",
    "ToolResult",
    "ToolSpec",
    "as_langchain_tools",
    "build_tools",
    "json_safe",
]
