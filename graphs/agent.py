"""The agent as the channels see it: a `TurnHandler` that runs turns, decisions and expiries on the graph."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Final

from langchain_core.runnables import RunnableConfig
from langgraph.types import Command

from channels.base import (
    ApprovalView,
    DecisionOutcome,
    HomeView,
    InboundMessage,
    MessageRef,
    Reply,
    SectionText,
)
from channels.context import current_answer_sink, current_request_id, request_scope
from graphs import answer_stream, feedback
from graphs import messages as msg
from graphs.approval_notes import joined_reply
from graphs.context import AgentDeps
from graphs.deciding import Decisions
from graphs.eligibility import form_refusal
from graphs.fanout import Fanout, new_reference
from graphs.governance.approval_records import Approval
from graphs.graph import Graph
from graphs.home import home_for
from graphs.identity import IdentityCache
from graphs.replies import turn_reply
from graphs.sections import full_section
from graphs.state import AgentState
from graphs.waiting import waiting_views
from tools.tracing import annotate, span

log = logging.getLogger(__name__)
MAX_MESSAGE_CHARS = 4000
FEEDBACK_COMMENT_MAX = 500  # what a user may write with a rating (Teams' feedback form)
TURN_DURABILITY: Final = "exit"  # a turn's checkpoint is written when it ends or pauses


class Agent:
    """Implements `channels.base.TurnHandler` on top of the compiled graph."""

    def __init__(self, graph: Graph, deps: AgentDeps, fanout: Fanout | None = None) -> None:
        self.graph = graph
        self.deps = deps
        self.decisions = Decisions(deps, self._close, fanout)
        self.identities = IdentityCache(
            deps.approver_directory.get, ttl_s=deps.identity_ttl_s, changes=deps.directory_changes
        )
        self._background: set[asyncio.Task[None]] = set()

    @property
    def fanout(self) -> Fanout:
        return self.decisions.fanout

    @fanout.setter
    def fanout(self, fanout: Fanout) -> None:
        self.decisions.fanout = fanout

    async def drain(self) -> None:
        """Wait for background deliveries (approval offers) to finish."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    # -- turns -------------------------------------------------------------------------------
    async def handle(self, message: InboundMessage) -> Reply:
        text = message.text.strip()
        if not text:
            return Reply(text="Please type a question or a request.", route="clarify")
        if len(text) > MAX_MESSAGE_CHARS:
            return Reply(
                text=f"That message is too long; please keep it under {MAX_MESSAGE_CHARS} characters.", route="clarify"
            )
        # The channel event's request id when there is one, so logs, metrics and audit entries agree.
        request_id = current_request_id() or new_reference()
        with request_scope(request_id), span("turn", channel=message.channel):
            reply = await self._turn(message, text, request_id)
            annotate(route=reply.route)
            return reply

    async def _turn(self, message: InboundMessage, text: str, request_id: str) -> Reply:
        turn: AgentState = {
            "text": text,
            "user": message.user_email,
            "channel": message.channel,
            "conversation_ref": message.conversation_ref,
            "request_id": request_id,
            "mode": "turn",
            "reply": {},
            "action": None,
            "requirement": None,
            "approval_id": None,
        }
        config: RunnableConfig = {"configurable": {"thread_id": message.conversation_key}}
        try:
            if message.user_email and not await self._may_ask(message.user_email, request_id):
                return Reply(text=msg.INACTIVE_REQUESTER, route="no_answer")
            if self.deps.handoffs is not None:  # a team's answer in a hand-off thread goes to the requester
                relayed: Reply | None = await self.deps.handoffs.relay(message)
                if relayed is not None:
                    return relayed
            # A turn's checkpoint is written once, when the run ends or pauses (durability="exit"), not after
            # every step: nothing reads the steps in between, and an interrupted turn is replayed whole.
            snapshot = await self.graph.aget_state(config)
            # A channel showing answers live gets them as they are produced (the same run and state).
            sink = current_answer_sink()
            if snapshot.interrupts:
                resume: Command[Any] = Command(resume=text, update={"request_id": request_id})
                out = await answer_stream.run(self.graph, resume, config, self.deps, sink, durability=TURN_DURABILITY)
                if out.get("reply", {}).get("redo"):
                    out = await answer_stream.run(self.graph, turn, config, self.deps, sink, durability=TURN_DURABILITY)
            else:
                out = await answer_stream.run(self.graph, turn, config, self.deps, sink, durability=TURN_DURABILITY)
            return await self._reply(out, message.user_email)
        except Exception:
            ref = new_reference()
            log.exception("turn failed (reference %s, request %s)", ref, request_id)
            return Reply(text=msg.ERROR.format(ref=ref), route="error", reference_id=ref)
        finally:
            self.deps.query_vectors.forget(request_id)

    async def _may_ask(self, email: str, request_id: str) -> bool:
        """False for a deactivated account: it gets nothing at all (answers, look-ups, requests)."""
        who = await self.identities.get(email)
        if who.email is None or who.active:
            return True  # unknown people still get handbook answers; tools need a directory identity
        await asyncio.to_thread(
            self.deps.audit.append,
            "answer",
            actor=who.email,
            request_id=request_id,
            policy_version=self.deps.policy.version,
            payload={"found": False, "intent": "inactive_requester"},
        )
        return False

    async def _reply(self, out: dict[str, Any], user: str | None) -> Reply:
        interrupts = out.get("__interrupt__")
        if interrupts:
            value = interrupts[0].value
            return Reply(text=value["text"], route="confirm", tool=value.get("tool"))
        r = out.get("reply") or {}
        if r.get("route") == "approval" and r.get("approval_id"):
            approval = await self._approval(r["approval_id"])
            if r.get("joined"):  # an identical request was pending: no new approval, nobody asked twice
                return joined_reply(self.view(approval), user)
            await self._pause(approval)
            view = self.view(approval)
            # Reach the approvers in every channel; failures there never lose the request.
            task = asyncio.get_running_loop().create_task(self._offer(view, approval.channel))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
            text = msg.APPROVAL_REQUESTED.format(
                title=view.title,
                reason=view.reason,
                approvers=", ".join(view.approvers) or "the approvers",
                approval_id=view.approval_id,
                expires=view.expires_at.strftime("%Y-%m-%d %H:%M UTC"),
            )
            return Reply(
                text=text, route="approval", approval=view, tool=approval.tool, data={"approval_id": view.approval_id}
            )
        return turn_reply(r, await waiting_views(self, r.get("waiting")))

    async def _offer(self, view: ApprovalView, origin: str) -> None:
        try:
            await self.fanout.offer(view, origin)
        except Exception:
            log.exception("offering approval %s to its approvers failed", view.approval_id)

    async def _pause(self, approval: Approval) -> None:
        """Start the approval's own graph thread and let it pause at the approval interrupt."""
        config = self._approval_config(approval.id)
        snapshot = await self.graph.aget_state(config)
        if snapshot.interrupts:
            return
        await self.graph.ainvoke(
            {
                "mode": "approval",
                "approval_id": approval.id,
                "user": approval.requester,
                "action": {"tool": approval.tool, "args": approval.args},
                "request_id": new_reference(),
                "channel": approval.channel,
                "conversation_ref": approval.conversation_ref,
            },
            config,
            context=self.deps,
        )

    def view(self, approval: Approval) -> ApprovalView:
        """What channels show of an approval: bank numbers masked to their last four characters."""
        return self.decisions.view(approval)

    async def _approval(self, approval_id: str) -> Approval:
        return await self.decisions.approval(approval_id)

    @staticmethod
    def _approval_config(approval_id: str) -> RunnableConfig:
        return {"configurable": {"thread_id": f"approval:{approval_id}"}}

    # -- approvals (graphs.deciding holds the logic, shared with `deskhand approvals decide`) ---------
    async def decide(
        self, approval_id: str, approver_email: str | None, approve: bool, comment: str = ""
    ) -> DecisionOutcome:
        return await self.decisions.decide(approval_id, approver_email, approve, comment)

    async def may_decide(self, approval_id: str, approver_email: str | None, approve: bool) -> DecisionOutcome | None:
        """None when `approver_email` may decide on the approval now (a reason form may open); otherwise the
        refusal, audited, with the approval as it stands. `decide` judges again on submission."""
        if not approver_email:
            return DecisionOutcome(accepted=False, message=msg.UNKNOWN_REQUESTER)
        refusal, approval = await form_refusal(self.deps, approval_id, approver_email, approve)
        if refusal is None:
            return None
        return DecisionOutcome(False, refusal, self.view(approval) if approval is not None else None)

    async def _close(self, approval: Approval, status: str) -> dict[str, Any]:
        """Resume the approval's thread with the outcome (approved: its execute step runs the action)."""
        await self._pause(approval)  # a record whose thread never started (crash) still resumes cleanly
        out = await self.graph.ainvoke(
            Command(resume={"status": status}), self._approval_config(approval.id), context=self.deps
        )
        return dict(out.get("reply") or {})

    async def publish(self, approval: Approval, reply: Reply) -> None:
        """Refresh every message showing `approval`, then tell its requester `reply` (best effort)."""
        await self.decisions.publish(approval, reply)

    async def expire_due(self) -> list[str]:
        """Expire overdue approvals: tell requesters and update every message showing them."""
        return await self.decisions.expire_due()

    async def remember_approval_message(self, approval_id: str, ref: MessageRef) -> None:
        await asyncio.to_thread(self.deps.approvals.add_message_ref, approval_id, ref.channel, ref.data)

    async def home(self, user_email: str) -> HomeView:
        return await home_for(self, user_email)

    # -- identity and feedback -----------------------------------------------------------------
    async def identify(self, email: str) -> str | None:
        """The directory e-mail (also for a deactivated account: `handle` tells them it is inactive)."""
        return (await self.identities.get(email)).email

    async def feedback(
        self, audit_id: str, user_email: str | None, helpful: bool, *, sources: tuple[str, ...] = (), comment: str = ""
    ) -> None:
        await feedback.record(
            self.deps, audit_id, user_email, helpful, sources=sources, comment=comment[:FEEDBACK_COMMENT_MAX]
        )

    async def request_human(self, audit_id: str, message: InboundMessage) -> Reply:
        return await feedback.request_human(self.deps, audit_id, message)

    async def full_section(self, ref: str) -> SectionText:
        return await full_section(self.deps.knowledge, ref)
