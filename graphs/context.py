"""What the agent's nodes reach, as LangGraph's runtime context: small, typed interfaces to knowledge,
tools, policy, approvals and audit (nodes take `runtime: Runtime[AgentDeps]`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # annotations only: reading an approval (graphs.eligibility) needs no numpy
    import numpy as np

    from graphs.governance.approvals import ApprovalStore
    from graphs.governance.policy import Policy
    from graphs.handoff import HandoffDesk
    from graphs.understanding.intents import IntentRouter
    from graphs.understanding.slots import SlotExtractor
    from knowledge.section import FullSection
    from knowledge.types import Answer, Citation
    from tools.tool_spec import ToolSpec

from graphs.governance.policy import ApproverDirectory
from graphs.query_vectors import QueryVectors


class DirectoryPerson(Protocol):
    @property
    def email(self) -> str: ...

    @property
    def active(self) -> bool: ...


class Directory(ApproverDirectory, Protocol):
    """The directory as the agent uses it: the policy's look-ups, and who someone is (for the requester)."""

    async def get(self, email: str) -> DirectoryPerson | None: ...


class AuditTrail(Protocol):
    """Where the nodes record what happened (graphs.governance.audit.AuditLog, or a spool while the database
    is down)."""

    def append(
        self,
        kind: str,
        *,
        actor: str,
        request_id: str | None = None,
        payload: Any = None,
        policy_version: str | None = None,
        now: datetime | None = None,
    ) -> str: ...


class KnowledgePort(Protocol):
    def answer(self, question: str, *, query_vec: np.ndarray | None = None) -> Answer: ...

    def query_text(self, question: str) -> str:
        """The part of a message the knowledge base embeds (the last question of a long message)."""
        ...

    def section(self, ref: str) -> FullSection:
        """The full section an answer's `section` reference points to (knowledge.section)."""
        ...


class GeneratedAnswer(Protocol):
    """A generative answer (see graphs.llm.grounded.Outcome)."""

    @property
    def text(self) -> str: ...

    @property
    def citations(self) -> Sequence[Citation]: ...

    def record(self) -> dict[str, Any]:
        """The answer path and reason, for the reply's data and the audit entry."""
        ...


class Generator(Protocol):
    """An optional LLM that rewrites a found extractive answer as a verified generative one."""

    async def answer(
        self,
        question: str,
        extractive: Answer,
        *,
        user: str | None = None,
        turn: str | None = None,
        emit: Callable[[str, bool], None] | None = None,
    ) -> GeneratedAnswer:
        """The outcome; `emit(text, reset)` gets each verified piece as it is released (reset: the text
        shown so far is replaced)."""
        ...


class Understander(Protocol):
    """An optional LLM that turns a message into a tool call (or none) using the same tool schemas."""

    async def understand(
        self, text: str, history: list[dict[str, str]], user: str | None = None, turn: str | None = None
    ) -> tuple[str, dict[str, Any]] | None:
        """Return (intent or tool name, arguments), or None to fall back to the offline router."""
        ...


class GovernanceDeps(Protocol):
    """What deciding on and running an approval needs (graphs.deciding): `AgentDeps` has it all, and
    `deskhand approvals decide` builds just this, without the model, the router or the graph."""

    @property
    def tools(self) -> Mapping[str, ToolSpec]: ...

    @property
    def policy(self) -> Policy: ...

    @property
    def approver_directory(self) -> Directory: ...

    @property
    def approvals(self) -> ApprovalStore: ...

    @property
    def audit(self) -> AuditTrail: ...

    @property
    def escalation_group(self) -> str | None: ...

    @property
    def clock(self) -> Callable[[], datetime]: ...

    @property
    def fault(self) -> Callable[[str, str], Awaitable[None]] | None: ...


@dataclass
class AgentDeps:
    """Everything the graph's nodes need, built once by the composition root and handed to every run as
    the graph's runtime context."""

    knowledge: KnowledgePort
    embed_query: Callable[[str], np.ndarray]
    router: IntentRouter
    slots: Callable[[], SlotExtractor]  # a fresh extractor over the current directory/ledger entities
    tools: dict[str, ToolSpec]
    policy: Policy
    approver_directory: Directory
    approvals: ApprovalStore
    audit: AuditTrail
    approval_ttl_minutes: int = 24 * 60
    identity_ttl_s: float = 30.0  # longest reuse of a requester's identity and active state
    directory_changes: Callable[[], int] = field(default=lambda: 0)  # moves on every write to the directory
    min_intent_confidence: float = 0.45
    contacts: dict[str, str] = field(default_factory=dict)  # team -> how to reach it
    escalation_group: str | None = None  # its active members may decide once a request's own approvers can't
    handoffs: HandoffDesk | None = None  # None: hand-offs only say whom to contact
    understander: Understander | None = None
    generator: Generator | None = None  # grounded generative answers (LLM mode)
    refresh_entities: Callable[[], Awaitable[None]] | None = None  # keeps slot matching current
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    # A test/chaos hook awaited at named points of risky work (e.g. "execute.after_tool"); None in production.
    fault: Callable[[str, str], Awaitable[None]] | None = None
    # The query embedding `understand` computed, reused by the knowledge answer of the same turn.
    query_vectors: QueryVectors = field(default_factory=QueryVectors)
