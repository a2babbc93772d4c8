"""What the agent's nodes reach: small interfaces to knowledge, tools, policy, approvals and audit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np

from graphs.understanding.intents import IntentRouter
from graphs.understanding.slots import SlotExtractor
from knowledge.types import Answer


class KnowledgePort(Protocol):
    def answer(self, question: str, *, query_vec: np.ndarray | None = None) -> Answer: ...

    def query_text(self, question: str) -> str:
        """The part of a message the knowledge base embeds (the last question of a long message)."""
        ...


class Generator(Protocol):
    """An optional LLM that rewrites a found extractive answer as a verified generative one."""

    async def answer(
        self, question: str, extractive: Answer, *, user: str | None = None, turn: str | None = None
    ) -> Any:
        """An outcome with `text`, `citations`, `path` and `record()` (see graphs.llm.grounded.Outcome)."""
        ...


class Understander(Protocol):
    """An optional LLM that turns a message into a tool call (or none) using the same tool schemas."""

    async def understand(
        self, text: str, history: list[dict[str, str]], user: str | None = None, turn: str | None = None
    ) -> tuple[str, dict[str, Any]] | None:
        """Return (intent or tool name, arguments), or None to fall back to the offline router."""
        ...


@dataclass
class AgentDeps:
    """Everything the graph's nodes need, built once by the composition root."""

    knowledge: KnowledgePort
    embed_query: Callable[[str], np.ndarray]
    router: IntentRouter
    slots: Callable[[], SlotExtractor]  # a fresh extractor over the current directory/ledger entities
    tools: dict[str, Any]  # name -> tools.catalog.ToolSpec
    policy: Any  # graphs.governance.policy.Policy
    approver_directory: Any  # graphs.governance.policy.ApproverDirectory
    approvals: Any  # graphs.governance.approvals.ApprovalStore
    audit: Any  # graphs.governance.audit.AuditLog
    approval_ttl_minutes: int = 24 * 60
    identity_ttl_s: float = 30.0  # longest reuse of a requester's identity and active state
    directory_changes: Callable[[], int] = field(default=lambda: 0)  # moves on every write to the directory
    min_intent_confidence: float = 0.45
    contacts: dict[str, str] = field(default_factory=dict)  # team -> how to reach it
    handoffs: Any = None  # graphs.handoff.HandoffDesk; None: hand-offs only say whom to contact
    understander: Understander | None = None
    generator: Generator | None = None  # grounded generative answers (LLM mode)
    refresh_entities: Callable[[], Awaitable[None]] | None = None  # keeps slot matching current
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    # A test/chaos hook awaited at named points of risky work (e.g. "execute.after_tool"); None in production.
    fault: Callable[[str, str], Awaitable[None]] | None = None
