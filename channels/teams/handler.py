"""The Teams activity handler: messages (Teams' half of one turn is `turn.py`), welcome, card actions and
the feedback loop (who sent an activity is `members.py`); the shared turn runner does the rest (lock, busy
apology, handle, save, deliver, error boundary)."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from botbuilder.core import ActivityHandler, TurnContext
from botbuilder.schema import Activity, ActivityTypes, ChannelAccount, InvokeResponse

from channels.base import DecisionOutcome
from channels.context import new_reference_id
from channels.coordination import Coordinator
from channels.core import wording
from channels.core.turns import TurnRunner
from channels.teams import reasons, render, verbs
from channels.teams.activities import (
    CHANNEL,
    activity_key,
    identifier,
    is_shared,
    message_text,
)
from channels.teams.courier import Courier, throttled, to_activity
from channels.teams.members import identify_member
from channels.teams.memory import TeamsMemory
from channels.teams.streaming import DEFAULT_INTERVAL_S
from channels.teams.turn import TeamsTurn

log = logging.getLogger(__name__)

FEEDBACK_INVOKE = "message/submitAction"  # Teams' feedback loop (`feedbackLoopEnabled` on the message)


def feedback_text(raw: object) -> str:
    """The words of Teams' default feedback form: `feedback` is a JSON string {"feedbackText": "…"}."""
    if not isinstance(raw, str):
        return ""
    try:
        data = json.loads(raw)
    except ValueError:
        return ""
    text = data.get("feedbackText") if isinstance(data, dict) else None
    return text.strip() if isinstance(text, str) else ""


class DeskhandTeamsBot(ActivityHandler):
    """Personal chats, channel and group-chat @mentions, welcome, card actions. Each message was recorded
    in the inbox before its ack (`TeamsChannel`); the runner marks it done."""

    streaming = True  # in one-to-one chats (`channels.teams.streaming`)
    stream_interval_s = DEFAULT_INTERVAL_S
    inform_after_s = 1.0  # an answer slower than this shows an informative update first

    def __init__(self, runner: TurnRunner, coordinator: Coordinator, courier: Courier, memory: TeamsMemory) -> None:
        self.runner = runner
        self.courier = courier
        self.memory = memory
        self._coordinator = coordinator

    # -- messages ---------------------------------------------------------------------------------

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        if isinstance(activity.value, dict) and activity.value.get("verb"):
            # Action.Submit from an older client
            await self.runner.guard(
                "card submit",
                self._on_submit(turn_context, activity.value),
                lambda t: self._tell_clicker(turn_context, t),
            )
            await self.runner.inbox.complete(activity_key(activity))
            return
        text = message_text(activity)
        if not text:
            await self.courier.send(turn_context, render.text_message(render.HELP))
            await self.runner.inbox.complete(activity_key(activity))
            return
        await self.runner.run(TeamsTurn(turn_context, self, text))

    async def deliver_saved(self, turn_context: TurnContext, saved: dict[str, Any]) -> None:
        """Deliver an answer a dead process computed but could not show (recovery)."""
        turn = TeamsTurn(turn_context, self, message_text(turn_context.activity), saved)
        await self.runner.deliver_saved(turn, saved)

    async def on_members_added_activity(self, members_added: list[ChannelAccount], turn_context: TurnContext) -> None:
        activity = turn_context.activity
        if is_shared(activity) or not members_added:
            return  # in teams and group chats Deskhand speaks when spoken to
        if await self._coordinator.claim(f"{CHANNEL}:welcome:{activity.conversation.id}", ttl_s=365 * 86400):
            await self.courier.send(turn_context, render.text_message(render.WELCOME))

    # -- card actions -----------------------------------------------------------------------------

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse | None:
        activity = turn_context.activity
        if activity.name == FEEDBACK_INVOKE:
            await self.runner.guard("feedback", self._feedback_loop(turn_context), lambda _t: asyncio.sleep(0))
            return InvokeResponse(status=200, body={})  # Teams shows its own thanks
        if activity.name != "adaptiveCard/action":
            return await super().on_invoke_activity(turn_context)
        value = activity.value if isinstance(activity.value, dict) else {}
        action = value.get("action")
        if not isinstance(action, dict) or action.get("type") != "Action.Execute":
            return InvokeResponse(
                status=400, body=render.error_response(400, "BadRequest", "expected an Action.Execute")
            )
        data = action.get("data")
        told: list[str] = []

        async def apologise(text: str) -> None:
            told.append(text)

        work = self._on_action(turn_context, str(action.get("verb") or ""), data if isinstance(data, dict) else {})
        body = await self.runner.guard("card action", work, apologise)
        return InvokeResponse(status=200, body=body if body is not None else render.message_response(told[0]))

    async def _on_action(self, ctx: TurnContext, verb: str, data: dict[str, Any]) -> dict[str, Any]:
        if verb in verbs.DECISIONS or verb == reasons.VERB_COMMENT:
            approval_id = identifier(data.get("approval_id"))
            if approval_id is None:
                return render.message_response(wording.UNKNOWN_ACTION)
            if reasons.wants_form(verb, data):  # only for someone who may decide now; else why not
                refused = await self._may_not(ctx, approval_id, verb)
                if refused is not None:
                    return await self._refused_card(refused)
            if reasons.wants_form(verb, data) or reasons.missing_reason(verb, data):
                return render.card_response(await self._form(approval_id, verb, data))  # the clicker's view only
            outcome = await self._decide(ctx, approval_id, verbs.DECISIONS[verb], reasons.reason_of(data))
            decided = outcome.approval
            if outcome.accepted and decided is not None:
                return render.card_response(render.approval_card(decided, await self.courier.approver_ids(decided)))
            return await self._refused_card(outcome)
        if verb == verbs.REFRESH:
            approval_id = identifier(data.get("approval_id"))
            view = await self.memory.view(approval_id) if approval_id else None
            if view is None:  # the client keeps showing the card it has
                return render.error_response(404, "NotFound", "unknown approval")
            return render.card_response(render.approval_card(view, await self.courier.approver_ids(view)))
        if verb == verbs.FEEDBACK:
            await self._feedback(ctx, data)
            return render.message_response(wording.FEEDBACK_THANKS)
        if verb == verbs.SECTION:
            return render.message_response(await self._show_section(ctx, data))
        return render.message_response(wording.UNKNOWN_ACTION)

    async def _on_submit(self, ctx: TurnContext, value: dict[str, Any]) -> None:
        verb = str(value.get("verb"))
        if verb == verbs.FEEDBACK:
            await self._feedback(ctx, value)
            await self._tell_clicker(ctx, wording.FEEDBACK_THANKS)
            return
        if verb == verbs.SECTION:
            told = await self._show_section(ctx, value)
            if told != wording.SECTION_SENT:
                await self._tell_clicker(ctx, told)
            return
        approval_id = identifier(value.get("approval_id"))
        if (verb not in verbs.DECISIONS and verb != reasons.VERB_COMMENT) or approval_id is None:
            await self._tell_clicker(ctx, wording.UNKNOWN_ACTION)
            return
        if reasons.wants_form(verb, value) and (refused := await self._may_not(ctx, approval_id, verb)):
            await self._tell_clicker(ctx, refused.message)
            return
        if reasons.wants_form(verb, value) or reasons.missing_reason(verb, value):
            form = reasons.form_message(await self._form(approval_id, verb, value))
            if is_shared(ctx.activity):
                await self.courier.send_privately(ctx, lambda dm: self.courier.send(dm, form))
            else:
                await self.courier.send(ctx, form)
            return
        outcome = await self._decide(ctx, approval_id, verbs.DECISIONS[verb], reasons.reason_of(value))
        if not outcome.accepted:
            await self._tell_clicker(ctx, outcome.message)

    async def _may_not(self, ctx: TurnContext, approval_id: str, verb: str) -> DecisionOutcome | None:
        """Before the reason form: the refusal for a clicker who may not decide now (None: show the form)."""
        approve = verb != verbs.REJECT
        refused = await self.runner.handler.may_decide(approval_id, await self.identify(ctx), approve)
        if refused is not None and refused.approval is not None:
            await self.memory.remember_view(refused.approval)
        return refused

    async def _refused_card(self, outcome: DecisionOutcome) -> dict[str, Any]:
        """The invoke answer to a refused click: a closed approval's final card with why (no buttons left
        to lie), otherwise only the reason (e.g. not an approver: the card stays as it is)."""
        view = outcome.approval
        if view is None or view.open:
            return render.message_response(outcome.message)
        ids = await self.courier.approver_ids(view)
        return render.card_response(render.approval_card(view, ids, notice=outcome.message))

    async def _form(self, approval_id: str, verb: str, data: dict[str, Any]) -> dict[str, Any]:
        notice = reasons.REASON_NEEDED if reasons.missing_reason(verb, data) else None
        view = await self.memory.view(approval_id)
        return reasons.reason_card(approval_id, view, approve=verb != verbs.REJECT, notice=notice)

    async def _decide(self, ctx: TurnContext, approval_id: str, approve: bool, comment: str = "") -> DecisionOutcome:
        """Ask the turn handler, which checks eligibility and is the only authority. Updating every copy
        of the card after an accepted decision is the agent core's job, through each channel's outbox
        (`refresh_approval`); the clicker also gets the new card in the invoke response."""
        outcome = await self.runner.handler.decide(approval_id, await self.identify(ctx), approve, comment)
        if outcome.approval is not None:
            await self.memory.remember_view(outcome.approval)
        return outcome

    async def _feedback(self, ctx: TurnContext, data: dict[str, Any]) -> None:
        audit_id = identifier(data.get("audit_id"))
        if audit_id is not None:
            await self.runner.handler.feedback(audit_id, await self.identify(ctx), data.get("helpful") is True)

    async def _feedback_loop(self, ctx: TurnContext) -> None:
        """Teams' feedback loop: thumbs up/down (and optional words) on an answer message."""
        value = ctx.activity.value if isinstance(ctx.activity.value, dict) else {}
        if value.get("actionName") != "feedback" or not isinstance(value.get("actionValue"), dict):
            return
        reaction = value["actionValue"].get("reaction")
        answer = await self.memory.answer(ctx.activity.reply_to_id) if ctx.activity.reply_to_id else None
        if reaction not in ("like", "dislike") or answer is None:
            log.info("feedback on an unknown message or with reaction %r; not recorded", reaction)
            return
        await self.runner.handler.feedback(
            str(answer["audit_id"]),
            await self.identify(ctx),
            reaction == "like",
            sources=tuple(str(s) for s in answer.get("sources") or ()),
            comment=feedback_text(value["actionValue"].get("feedback")),
        )

    async def _show_section(self, ctx: TurnContext, data: dict[str, Any]) -> str:
        """The full section of a shortened answer as a reply in the conversation (Teams has no ephemeral
        messages). Returns what the clicker is told: that it was sent, or why not (a bad or stale reference)."""
        ref = data.get("section")
        section = await self.runner.handler.full_section(ref if isinstance(ref, str) else "")
        if not section.found:
            return section.text
        for message in render.section_messages(section):
            await self.courier.send(ctx, message)
        return wording.SECTION_SENT

    async def _tell_clicker(self, ctx: TurnContext, text: str) -> None:
        """A message only the clicker should see: in a shared conversation, a private chat."""
        if is_shared(ctx.activity):
            await self.courier.send_privately(ctx, lambda dm: self.courier.send(dm, render.text_message(text)))
        else:
            await self.courier.send(ctx, render.text_message(text))

    async def duplicate_invoke_body(self, activity: Activity) -> dict[str, Any]:
        """What a redelivered card action is answered with: the card as it stands now."""
        action = (activity.value or {}).get("action") if isinstance(activity.value, dict) else None
        data = action.get("data") if isinstance(action, dict) else None
        approval_id = identifier(data.get("approval_id")) if isinstance(data, dict) else None
        view = await self.memory.view(approval_id) if approval_id else None
        if view is not None:
            return render.card_response(render.approval_card(view, await self.courier.approver_ids(view)))
        return render.message_response(wording.ALREADY_RECORDED)

    # -- identity ---------------------------------------------------------------------------------

    async def identify(self, ctx: TurnContext) -> str | None:
        """The sender's directory e-mail (`channels.teams.members`)."""
        return await identify_member(ctx, self.memory, self.runner.handler)


async def on_turn_error(turn_context: TurnContext, error: Exception) -> None:
    """The adapter's error boundary (the runner has its own for turns): log once with a reference id; the
    user sees only the id."""
    ref = new_reference_id()
    activity = turn_context.activity
    log.error("Teams turn failed (reference %s, %s activity %s)", ref, activity.type, activity.id, exc_info=error)
    apology = wording.APOLOGY.format(ref=ref)
    try:
        if activity.type == ActivityTypes.invoke:
            await answer_invoke(turn_context, render.message_response(apology))
        elif activity.type == ActivityTypes.message:
            message = to_activity(render.text_message(apology))
            await throttled(lambda: turn_context.send_activity(message))
    except Exception:
        log.warning("could not send the apology for reference %s", ref, exc_info=True)


async def answer_invoke(turn_context: TurnContext, body: dict[str, Any]) -> None:
    await turn_context.send_activity(
        Activity(type=ActivityTypes.invoke_response, value=InvokeResponse(status=200, body=body))
    )
