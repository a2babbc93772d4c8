"""The Teams activity handler: activity -> neutral message or decision -> turn handler -> rendered answer."""

from __future__ import annotations

import logging
import re
import secrets
from typing import Any

from botbuilder.core import ActivityHandler, TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.schema import Activity, ActivityTypes, ChannelAccount, InvokeResponse

from channels.base import DecisionOutcome, InboundMessage, TurnHandler
from channels.coordination import Coordinator, LockTimeout
from channels.inbox import Inbox, InboxUnavailable
from channels.teams import reasons, render
from channels.teams.courier import CHANNEL, Courier, is_shared, tenant_of, throttled
from channels.teams.memory import TeamsMemory

log = logging.getLogger(__name__)

_AT_TAG = re.compile(r"<at\b[^>]*>(.*?)</at>", re.IGNORECASE | re.DOTALL)
_DECISION_VERBS = {render.VERB_APPROVE: True, render.VERB_REJECT: False}
_MAX_ID = 200


def new_reference_id() -> str:
    """A short id the user can quote to support, matching the logged error."""
    return secrets.token_hex(3).upper()


def conversation_key(activity: Activity) -> str:
    return f"{CHANNEL}:{activity.conversation.id}"


def message_text(activity: Activity) -> str:
    """The user's words without the bot's @mention; other people's mentions keep their names.

    (botbuilder's `remove_recipient_mention` also deletes the bot's name wherever else it appears in
    the text, so "<at>Deskhand</at> what can Deskhand do?" would lose a word.)"""
    text = activity.text or ""
    bot = activity.recipient
    for entity in activity.entities or []:
        extra = getattr(entity, "additional_properties", None) or {}
        mentioned = extra.get("mentioned") if entity.type == "mention" else None
        tag = extra.get("text")
        if isinstance(mentioned, dict) and bot is not None and mentioned.get("id") == bot.id and tag:
            text = text.replace(str(tag), " ")
    if bot is not None and bot.name:  # a client that sent no mention entity
        text = re.sub(rf"<at\b[^>]*>\s*{re.escape(bot.name)}\s*</at>", " ", text, flags=re.IGNORECASE)
    text = _AT_TAG.sub(lambda m: m.group(1), text)
    return " ".join(text.split())


class DeskhandTeamsBot(ActivityHandler):
    """Personal chats, channel and group-chat @mentions, welcome, card actions."""

    def __init__(
        self, handler: TurnHandler, coordinator: Coordinator, courier: Courier, inbox: Inbox | None = None
    ) -> None:
        self._handler = handler
        self._coordinator = coordinator
        self._inbox = inbox or Inbox(store=None, coordinator=coordinator)
        self._courier = courier
        self._memory = TeamsMemory(coordinator)

    async def on_turn(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        # Exactly once: Teams redelivers when our answer is slow or lost. Message ids are only unique
        # within a conversation, hence the conversation in the key.
        # The shared inbox marks an activity done only after its turn finished, so a redelivery of one
        # whose process died is handled (after the lease), not dropped.
        once = activity.id and activity.type in (ActivityTypes.message, ActivityTypes.invoke)
        key = f"{CHANNEL}:{activity.conversation.id}:{activity.id}"
        if once:
            try:
                first = await self._inbox.accept(key, CHANNEL, str(activity.type), {"id": activity.id})
            except InboxUnavailable:
                log.warning("cannot record Teams activity %s; handling it without a durable record", activity.id)
                first = True
            if not first:
                log.info("Teams redelivered activity %s; ignored", activity.id)
                if activity.type == ActivityTypes.invoke:
                    await _answer_invoke(turn_context, await self._duplicate_invoke_body(activity))
                return
        await super().on_turn(turn_context)
        if once:
            await self._inbox.complete(key)

    # -- messages ---------------------------------------------------------------------------------

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        if isinstance(activity.value, dict) and activity.value.get("verb"):
            await self._on_submit(turn_context, activity.value)  # Action.Submit from an older client
            return
        text = message_text(activity)
        if not text:
            await self._courier.send(turn_context, render.text_activity(render.HELP))
            return
        try:
            async with self._coordinator.lock(conversation_key(activity)):
                message = InboundMessage(
                    channel=CHANNEL,
                    conversation_key=conversation_key(activity),
                    user_id=activity.from_property.aad_object_id or activity.from_property.id,
                    user_email=await self._identify(turn_context),
                    text=text,
                    message_id=activity.id or "",
                    shared=is_shared(activity),
                    user_name=activity.from_property.name,
                    conversation_ref=_reference(activity),
                )
                if message.user_email and not message.shared:
                    await self._memory.remember_personal_chat(message.user_email, message.conversation_ref)
                reply = await self._handler.handle(message)
                await self._courier.deliver(turn_context, reply)
        except LockTimeout:
            await self._courier.send(turn_context, render.text_activity(render.BUSY))

    async def on_members_added_activity(self, members_added: list[ChannelAccount], turn_context: TurnContext) -> None:
        activity = turn_context.activity
        if is_shared(activity) or not members_added:
            return  # in teams and group chats Deskhand speaks when spoken to
        if await self._coordinator.claim(f"{CHANNEL}:welcome:{activity.conversation.id}", ttl_s=365 * 86400):
            await self._courier.send(turn_context, render.text_activity(render.WELCOME))

    # -- card actions -----------------------------------------------------------------------------

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse | None:
        activity = turn_context.activity
        if activity.name != "adaptiveCard/action":
            return await super().on_invoke_activity(turn_context)
        value = activity.value if isinstance(activity.value, dict) else {}
        action = value.get("action")
        if not isinstance(action, dict) or action.get("type") != "Action.Execute":
            return InvokeResponse(
                status=400, body=render.error_response(400, "BadRequest", "expected an Action.Execute")
            )
        data = action.get("data")
        if not isinstance(data, dict):
            data = {}
        try:
            body = await self._on_action(turn_context, str(action.get("verb") or ""), data)
        except Exception as exc:
            ref = new_reference_id()
            log.error("Teams card action failed (ref %s)", ref, exc_info=exc)
            body = render.message_response(render.apology(ref))
        return InvokeResponse(status=200, body=body)

    async def _on_action(self, ctx: TurnContext, verb: str, data: dict[str, Any]) -> dict[str, Any]:
        if verb in _DECISION_VERBS or verb == reasons.VERB_COMMENT:
            approval_id = _identifier(data.get("approval_id"))
            if approval_id is None:
                return render.message_response(render.UNKNOWN_ACTION)
            if reasons.wants_form(verb, data) or reasons.missing_reason(verb, data):
                return render.card_response(await self._form(approval_id, verb, data))  # the clicker's view only
            outcome = await self._decide(ctx, approval_id, _DECISION_VERBS[verb], reasons.reason_of(data))
            view = outcome.approval
            if view is None:
                return render.message_response(outcome.message)
            ids = await self._courier.approver_ids(view)
            if outcome.accepted:
                return render.card_response(render.approval_card(view, ids))
            if not view.open:  # already decided or expired: show the clicker the final card
                return render.card_response(render.approval_card(view, ids, notice=outcome.message))
            return render.message_response(outcome.message)  # e.g. not an approver: nothing changes
        if verb == render.VERB_REFRESH:
            approval_id = _identifier(data.get("approval_id"))
            view = await self._memory.view(approval_id) if approval_id else None
            if view is None:  # the client keeps showing the card it has
                return render.error_response(404, "NotFound", "unknown approval")
            return render.card_response(render.approval_card(view, await self._courier.approver_ids(view)))
        if verb == render.VERB_FEEDBACK:
            await self._feedback(ctx, data)
            return render.message_response(render.FEEDBACK_THANKS)
        return render.message_response(render.UNKNOWN_ACTION)

    async def _on_submit(self, ctx: TurnContext, value: dict[str, Any]) -> None:
        verb = str(value.get("verb"))
        if verb == render.VERB_FEEDBACK:
            await self._feedback(ctx, value)
            await self._tell_clicker(ctx, render.FEEDBACK_THANKS)
            return
        approval_id = _identifier(value.get("approval_id"))
        if (verb not in _DECISION_VERBS and verb != reasons.VERB_COMMENT) or approval_id is None:
            await self._tell_clicker(ctx, render.UNKNOWN_ACTION)
            return
        if reasons.wants_form(verb, value) or reasons.missing_reason(verb, value):
            form = reasons.form_activity(await self._form(approval_id, verb, value))
            if is_shared(ctx.activity):
                await self._courier.send_privately(ctx, lambda dm: self._courier.send(dm, form))
            else:
                await self._courier.send(ctx, form)
            return
        outcome = await self._decide(ctx, approval_id, _DECISION_VERBS[verb], reasons.reason_of(value))
        if not outcome.accepted:
            await self._tell_clicker(ctx, outcome.message)

    async def _form(self, approval_id: str, verb: str, data: dict[str, Any]) -> dict[str, Any]:
        notice = reasons.REASON_NEEDED if reasons.missing_reason(verb, data) else None
        view = await self._memory.view(approval_id)
        return reasons.reason_card(approval_id, view, approve=verb != render.VERB_REJECT, notice=notice)

    async def _decide(self, ctx: TurnContext, approval_id: str, approve: bool, comment: str = "") -> DecisionOutcome:
        """Ask the turn handler, which checks eligibility and is the only authority. Updating every copy
        of the card after an accepted decision is the agent core's job, through each channel's outbox
        (`refresh_approval`); the clicker also gets the new card in the invoke response."""
        email = await self._identify(ctx)
        outcome = await self._handler.decide(approval_id, email, approve, comment)
        if outcome.approval is not None:
            await self._memory.remember_view(outcome.approval)
        return outcome

    async def _feedback(self, ctx: TurnContext, data: dict[str, Any]) -> None:
        audit_id = _identifier(data.get("audit_id"))
        if audit_id is not None:
            await self._handler.feedback(audit_id, await self._identify(ctx), data.get("helpful") is True)

    async def _tell_clicker(self, ctx: TurnContext, text: str) -> None:
        """A message only the clicker should see: in a shared conversation, a private chat."""
        if is_shared(ctx.activity):
            await self._courier.send_privately(ctx, lambda dm: self._courier.send(dm, render.text_activity(text)))
        else:
            await self._courier.send(ctx, render.text_activity(text))

    async def _duplicate_invoke_body(self, activity: Activity) -> dict[str, Any]:
        action = (activity.value or {}).get("action") if isinstance(activity.value, dict) else None
        data = action.get("data") if isinstance(action, dict) else None
        approval_id = _identifier(data.get("approval_id")) if isinstance(data, dict) else None
        view = await self._memory.view(approval_id) if approval_id else None
        if view is not None:
            return render.card_response(render.approval_card(view, await self._courier.approver_ids(view)))
        return render.message_response(render.ALREADY_RECORDED)

    # -- identity ---------------------------------------------------------------------------------

    async def _identify(self, ctx: TurnContext) -> str | None:
        """The sender's directory e-mail: Teams member profile (e-mail or UPN) -> `handler.identify`."""
        who = ctx.activity.from_property
        if who is None or not who.id:
            return None
        cached = await self._memory.member_email(who.id)
        if cached is not None:
            return cached or None
        if not isinstance(ctx.activity.channel_data, dict):
            ctx.activity.channel_data = {}  # TeamsInfo reads the team id from it
        try:
            member = await TeamsInfo.get_member(ctx, who.id)
        except Exception:
            log.warning("could not read the Teams profile of %s", who.id, exc_info=True)
            return None
        address = member.email or member.user_principal_name
        try:
            email = await self._handler.identify(address) if address else None
        except Exception:
            log.warning("could not resolve the directory identity of %s", who.id, exc_info=True)
            return None
        await self._memory.remember_member(who.id, email, member.aad_object_id or who.aad_object_id)
        return email


async def on_turn_error(turn_context: TurnContext, error: Exception) -> None:
    """The adapter's error boundary: log once with a reference id; the user sees only the id."""
    ref = new_reference_id()
    activity = turn_context.activity
    log.error("Teams turn failed (ref %s, %s activity %s)", ref, activity.type, activity.id, exc_info=error)
    try:
        if activity.type == ActivityTypes.invoke:
            await _answer_invoke(turn_context, render.message_response(render.apology(ref)))
        elif activity.type == ActivityTypes.message:
            await throttled(lambda: turn_context.send_activity(render.text_activity(render.apology(ref))))
    except Exception:
        log.warning("could not send the apology for ref %s", ref, exc_info=True)


async def _answer_invoke(turn_context: TurnContext, body: dict[str, Any]) -> None:
    await turn_context.send_activity(
        Activity(type=ActivityTypes.invoke_response, value=InvokeResponse(status=200, body=body))
    )


def _reference(activity: Activity) -> dict[str, Any]:
    """How to reach this conversation later (JSON), with the tenant a private chat needs."""
    reference = TurnContext.get_conversation_reference(activity)
    if reference.conversation is not None:
        reference.conversation.tenant_id = tenant_of(activity)
    data: dict[str, Any] = reference.serialize()
    return data


def _identifier(value: object) -> str | None:
    if isinstance(value, str) and 0 < len(value) <= _MAX_ID:
        return value
    return None
