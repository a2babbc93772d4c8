"""The agent as the channels see it: a `TurnHandler` that runs turns, decisions and expiries on the graph."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
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
from graphs.approval_notes import decision_note, joined_reply, joiner_refusal, notify_waiters
from graphs.context import AgentDeps
from graphs.eligibility import form_refusal, recheck, unreachable, unreachable_note
from graphs.fanout import Fanout, NoFanout, new_reference
from graphs.governance.approval_records import Approval, ApprovalError
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
        self.fanout: Fanout = fanout or NoFanout()
        self.identities = IdentityCache(
            deps.approver_directory.get, ttl_s=deps.identity_ttl_s, changes=deps.directory_changes
        )
        self._background: set[asyncio.Task[None]] = set()

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
        view = self.deps.approvals.to_view(approval)
        if unreachable(approval):  # whoever looks sees that it can't be approved as it stands
            view = replace(view, reason=view.reason + unreachable_note(approval))
        spec = self.deps.tools.get(approval.tool)
        return replace(view, arguments=spec.redact(view.arguments)) if spec is not None else view

    async def _approval(self, approval_id: str) -> Approval:
        approval = await asyncio.to_thread(self.deps.approvals.get, approval_id)
        if approval is None:
            raise ApprovalError(f"there is no approval {approval_id}")
        return approval

    @staticmethod
    def _approval_config(approval_id: str) -> RunnableConfig:
        return {"configurable": {"thread_id": f"approval:{approval_id}"}}

    # -- approvals ---------------------------------------------------------------------------
    async def decide(
        self, approval_id: str, approver_email: str | None, approve: bool, comment: str = ""
    ) -> DecisionOutcome:
        with span("approval decide", approval_id=approval_id, approve=approve):
            outcome = await self._decide(approval_id, approver_email, approve, comment)
            annotate(accepted=outcome.accepted)
            return outcome

    async def _decide(
        self, approval_id: str, approver_email: str | None, approve: bool, comment: str
    ) -> DecisionOutcome:
        if not approver_email:
            return DecisionOutcome(accepted=False, message=msg.UNKNOWN_REQUESTER)
        joiner = await joiner_refusal(self.deps.approvals, approval_id, approver_email)
        refused = await self._recheck(approval_id, approver_email, approve, joiner)
        if refused is not None:
            return refused
        now = self.deps.clock()
        # The decision and its audit entry commit together inside the store.
        result = await asyncio.to_thread(
            self.deps.approvals.decide, approval_id, approver_email, approve, comment, now, self.deps.policy.version
        )
        approval = result.approval
        if approval is None:
            return DecisionOutcome(accepted=False, message=result.message)
        if self.deps.fault is not None and result.became == "approved":
            await self.deps.fault("decide.after_commit", approval_id)
        if result.became == "expired":  # this click found it overdue: exactly one caller gets here
            await self._finish(approval, "expired")
        if not result.accepted:
            return DecisionOutcome(False, result.message, self.view(approval))
        if result.became in ("approved", "rejected"):
            await self._finish(approval, result.became, who=approver_email)
        else:
            await self._refresh(approval)
        latest = await self._approval(approval_id)
        return DecisionOutcome(True, result.message, self.view(latest))

    async def may_decide(self, approval_id: str, approver_email: str | None, approve: bool) -> DecisionOutcome | None:
        """None when `approver_email` may decide on the approval now (a reason form may open); otherwise the
        refusal, audited, with the approval as it stands. `decide` judges again on submission."""
        if not approver_email:
            return DecisionOutcome(accepted=False, message=msg.UNKNOWN_REQUESTER)
        refusal, approval = await form_refusal(self.deps, approval_id, approver_email, approve)
        if refusal is None:
            return None
        return DecisionOutcome(False, refusal, self.view(approval) if approval is not None else None)

    async def _recheck(
        self, approval_id: str, approver: str, approve: bool, refusal: str | None = None
    ) -> DecisionOutcome | None:
        """Who may decide is judged now, not when the request was made: refuse an inactive approver, or an
        approval for an inactive requester; store a changed approver list and tell everyone who sees it."""
        approval = await asyncio.to_thread(self.deps.approvals.get, approval_id)
        if approval is None:
            return None
        check = await recheck(self.deps, approval, approver)
        if check.changed:
            latest = check.approval
            await asyncio.to_thread(
                self.deps.audit.append,
                "approval_decision",
                actor="system",
                request_id=approval_id,
                policy_version=self.deps.policy.version,
                payload={"approval_id": approval_id, "became": "reassigned", "approvers": list(latest.approvers)},
            )
            await self._refresh(latest)
            if unreachable(latest):
                note = Reply(text=msg.STUCK.format(title=latest.title) + unreachable_note(latest), route="approval")
                try:
                    await self.fanout.notify(latest.channel, latest.conversation_ref, note)
                except Exception:
                    log.exception("could not tell the requester about approval %s", approval_id)
                await notify_waiters(self.deps.approvals, self.fanout, latest, note)
        if refusal is not None and check.approval.status == "pending":
            check = replace(check, refusal=refusal)  # asked for it too (joined): like the requester
        if check.refusal is None or (check.refusal == msg.REQUESTER_INACTIVE and not approve):
            return None
        await asyncio.to_thread(
            self.deps.audit.append,
            "approval_decision",
            actor=approver,
            request_id=approval_id,
            policy_version=self.deps.policy.version,
            payload={"approval_id": approval_id, "approve": approve, "accepted": False, "message": check.refusal},
        )
        return DecisionOutcome(False, check.refusal, self.view(check.approval))

    async def _finish(self, approval: Approval, status: str, who: str = "") -> None:
        """Resume the approval's thread with the outcome, then update every message and the requester."""
        await self._pause(approval)  # a record whose thread never started (crash) still resumes cleanly
        out = await self.graph.ainvoke(
            Command(resume={"status": status}), self._approval_config(approval.id), context=self.deps
        )
        r = out.get("reply") or {}
        title = approval.title
        if status == "approved":
            approvers = approval.approved_by or (who,)  # four eyes: every approver's comment is told
            notes = "".join(decision_note(approval, a) for a in approvers)
            text = f"Approved by {' and '.join(approvers)}.{notes} {r.get('text', '')}".strip()
            reply = Reply(
                text=text,
                route="tool",
                tool=approval.tool,
                sensitive=bool(r.get("sensitive")),
                audit_id=r.get("audit_id"),
                data=r.get("data") or {},
            )
        elif status == "rejected":
            text = msg.APPROVAL_REJECTED.format(title=title, who=who) + decision_note(approval, who)
            reply = Reply(text=text, route="approval")
        else:
            reply = Reply(text=msg.APPROVAL_EXPIRED.format(title=title), route="approval")
        await self.publish(approval, reply)

    async def publish(self, approval: Approval, reply: Reply) -> None:
        """Refresh every message showing `approval`, then tell its requester `reply` (best effort)."""
        await self._refresh(approval)
        try:
            await self.fanout.notify(approval.channel, approval.conversation_ref, reply)
        except Exception:
            log.exception("could not tell the requester about approval %s", approval.id)
        await notify_waiters(self.deps.approvals, self.fanout, approval, reply)

    async def _refresh(self, approval: Approval) -> None:
        latest = await self._approval(approval.id)
        refs = [
            MessageRef(channel=c, data=d)
            for c, d in await asyncio.to_thread(self.deps.approvals.message_refs, approval.id)
        ]
        try:
            await self.fanout.refresh(self.view(latest), refs)
        except Exception:
            log.exception("could not refresh the messages of approval %s", approval.id)

    async def expire_due(self) -> list[str]:
        """Expire overdue approvals: tell requesters and update every message showing them."""
        expired = await asyncio.to_thread(self.deps.approvals.expire_due, self.deps.clock(), self.deps.policy.version)
        for approval in expired:  # each expiry was audited with its status change
            await self._finish(approval, "expired")
        return [a.id for a in expired]

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
