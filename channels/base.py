"""The neutral port between chat channels and the agent: messages in, replies and approval views out.

Channel adapters (Slack, Teams, local) convert platform payloads to `InboundMessage`, call a
`TurnHandler`, and render the `Reply` they get back. They never import the agent, the tools or a
database; the composition root (`bot.wiring`) hands them a `TurnHandler`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

Route = Literal["answer", "no_answer", "tool", "approval", "clarify", "handoff", "confirm", "error"]
ApprovalStatus = Literal["pending", "approved", "rejected", "expired", "executing", "executed", "failed", "cancelled"]


@dataclass(frozen=True)
class InboundMessage:
    """One user message, whatever channel it came from."""

    channel: str  # "slack" | "teams" | "local"
    conversation_key: str  # stable id of the thread/reply chain: the agent's thread_id
    user_id: str  # the platform's user id (Slack U…, Teams AAD object id, local e-mail)
    user_email: str | None  # resolved directory identity; None when unknown
    text: str
    message_id: str = ""  # platform event/activity id (already deduplicated by the adapter)
    shared: bool = False  # True in a public/shared channel: sensitive results go private
    user_name: str | None = None
    conversation_ref: dict[str, Any] = field(default_factory=dict)  # how to post back later


@dataclass(frozen=True)
class SourceRef:
    """A numbered citation: `n` matches the `[n]` marker in the answer text."""

    n: int
    title: str
    source: str  # path relative to the indexed source root
    heading: str
    score: float
    url: str | None = None


@dataclass(frozen=True)
class Decision:
    approver: str  # e-mail
    approve: bool
    at: datetime
    comment: str = ""


@dataclass(frozen=True)
class ApprovalView:
    """What an approval message shows, the same in every channel."""

    approval_id: str
    title: str  # what: "Put invoice INV-10077 on payment hold"
    requester: str  # e-mail
    reason: str  # why it needs approval, in words
    rule: str  # the policy rule id
    mode: Literal["approve", "four_eyes"]
    approvers: tuple[str, ...]  # eligible approvers' e-mails
    required: int  # approvals needed (1 or 2)
    expires_at: datetime
    status: ApprovalStatus
    decisions: tuple[Decision, ...] = ()
    arguments: dict[str, Any] = field(default_factory=dict)

    @property
    def open(self) -> bool:
        return self.status == "pending"


@dataclass(frozen=True)
class Reply:
    """The agent's answer to one turn, to be rendered by the channel."""

    text: str
    route: Route
    citations: tuple[SourceRef, ...] = ()
    approval: ApprovalView | None = None
    approvals: tuple[ApprovalView, ...] = ()  # more approvals to show, each with its buttons ("what's waiting")
    sensitive: bool = False  # personal or financial data: never in a shared channel
    audit_id: str | None = None  # for feedback buttons
    reference_id: str | None = None  # shown with apologies for unexpected errors
    confidence: float | None = None
    tool: str | None = None
    data: dict[str, Any] = field(default_factory=dict)  # structured tool result for --json
    section: str | None = None  # a shortened answer: reference to its full section ("Show full section")


@dataclass(frozen=True)
class SectionText:
    """The full section behind a shortened answer, or (found=False) why it cannot be shown."""

    found: bool
    text: str  # the section's text (light Markdown: list markers, table rows), or the reason it is missing
    title: str = ""
    heading: str = ""
    url: str | None = None


@dataclass(frozen=True)
class DecisionOutcome:
    """The result of an approver's click."""

    accepted: bool  # False: nothing changed; `message` says why (shown privately to the clicker)
    message: str
    approval: ApprovalView | None = None  # current state, for refreshing every message showing it


@dataclass(frozen=True)
class HomeView:
    """One person's overview (Slack's App Home): what waits for their decision, and their own requests."""

    waiting: tuple[ApprovalView, ...] = ()  # approvals they may decide now, the soonest to expire first
    requests: tuple[ApprovalView, ...] = ()  # their own requests, newest first


class TurnHandler(Protocol):
    """What a channel may ask of the agent."""

    async def handle(self, message: InboundMessage) -> Reply: ...

    async def decide(
        self, approval_id: str, approver_email: str | None, approve: bool, comment: str = ""
    ) -> DecisionOutcome: ...

    async def may_decide(self, approval_id: str, approver_email: str | None, approve: bool) -> DecisionOutcome | None:
        """Before a reason form opens: None when the person may decide on it now, else the refusal (to tell
        them privately) with the approval as it stands. Changes nothing; `decide` judges again on submission."""
        ...

    async def feedback(
        self, audit_id: str, user_email: str | None, helpful: bool, *, sources: tuple[str, ...] = (), comment: str = ""
    ) -> None:
        """Record a rating of the answer `audit_id` (with the sources it cited and the user's words)."""
        ...

    async def request_human(self, audit_id: str, message: InboundMessage) -> Reply:
        """ "Get a human" under an answer: hand the answer's question over to the right team, as asking for a
        person would (`message` says who clicked and where; its text is ignored)."""
        ...

    async def full_section(self, ref: str) -> SectionText:
        """The full section of a shortened answer, by the reply's `section` reference (never raises for a
        bad or stale reference: found=False with a message for the clicker)."""
        ...

    async def identify(self, email: str) -> str | None:
        """Resolve an e-mail to the directory identity (the canonical e-mail), or None."""
        ...

    async def remember_approval_message(self, approval_id: str, ref: MessageRef) -> None:
        """Record where an approval was shown, so every copy is refreshed after a decision."""
        ...

    async def home(self, user_email: str) -> HomeView:
        """What waits for `user_email`'s decision and their own recent requests (read-only)."""
        ...


@dataclass(frozen=True)
class MessageRef:
    """Where a channel posted an approval message, so it can be refreshed after a decision."""

    channel: str
    data: dict[str, Any]  # channel-specific: Slack {channel, ts}; Teams {service_url, conversation_id, activity_id}


class ChannelOutbox(Protocol):
    """The output half of a channel, used when something happens outside a user's turn
    (a decision made elsewhere, an expiry): refresh approval messages, tell the requester."""

    name: str

    async def refresh_approval(self, ref: MessageRef, view: ApprovalView) -> None: ...

    async def notify(self, conversation_ref: dict[str, Any], reply: Reply) -> None: ...

    async def offer_approval(self, view: ApprovalView, origin: str) -> None:
        """Show a new approval to its approvers wherever this channel can reach them privately
        (`origin` is the channel it was requested in), so it can be decided from any channel."""
        ...


@dataclass(frozen=True)
class TeamPost:
    """Where a hand-off was posted for a team: the thread its answers arrive in."""

    conversation_key: str  # the key `InboundMessage.conversation_key` carries for replies in that thread


@runtime_checkable
class TeamDesk(Protocol):
    """The optional part of a channel's output half that reaches a team's own channel for a hand-off."""

    async def post_to_team(self, destination: dict[str, Any], reply: Reply, origin_ref: dict[str, Any]) -> TeamPost:
        """Start a new thread in the team channel `destination` (platform-specific ids) with `reply`;
        `origin_ref` is the requester's conversation on the same platform."""
        ...

    async def link_to(self, conversation_ref: dict[str, Any]) -> str | None:
        """A link a colleague can open to the conversation `conversation_ref`, or None (private chats)."""
        ...
