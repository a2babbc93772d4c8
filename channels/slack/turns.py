"""Slack's half of a turn (placeholder, user look-ups, thread delivery) and of clicks, run by the shared core."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, replace
from typing import Any

from channels.base import ApprovalView, InboundMessage, Reply
from channels.context import new_reference_id
from channels.coordination import CoordinationUnavailable, Coordinator
from channels.core import wording
from channels.core.turns import TurnRunner
from channels.slack import actions, messages
from channels.slack.commands import Command, PrivateTurn, replace_private, whisper
from channels.slack.events import (
    AssistantThread,
    Click,
    SlackMessage,
    assistant_marker,
    clean_text,
    click_key,
    conversation_key,
    event_key,
    mentioned_users,
    thread_marker,
)
from channels.slack.home import SlackHome
from channels.slack.outbox import SlackOutbox
from channels.slack.private_lists import list_of
from channels.slack.reasons import FORM_FAILED, ReasonForms, Submission, opens_form
from channels.slack.render import render_text
from channels.slack.webapi import Directory, SlackApi, WebApiError

log = logging.getLogger(__name__)
PLACEHOLDER_LOOKUP_S = 0.5  # the placeholder marker is cosmetic: never let a slow Redis hold up the turn
STREAM_PREFIX = "stream:"  # a remembered placeholder that is an open chat stream


class SlackTurn:
    """`channels.core.turns.PlatformTurn` for one Slack message."""

    settled: tuple[type[BaseException], ...] = (
        WebApiError,
    )  # `SlackApi` retried what was safe; the outbox re-posts a failed update

    def __init__(
        self,
        msg: SlackMessage,
        bot_user_id: str | None,
        turns: SlackTurns,
        placeholder: str | None = None,
        *,
        streamed: bool = False,
        recovered: bool = False,
    ):
        self.msg = msg
        self.key = event_key(msg.event_id)
        self.conversation_key = msg.conversation_key
        self.placeholder = placeholder
        self.streamed = streamed  # the placeholder is an open chat stream the answer is streamed into
        self.recovered = recovered
        self._bot = bot_user_id
        self._turns = turns

    async def begin(self) -> None:
        msg = self.msg
        await self._turns.coordinator.remember(
            thread_marker(msg.team, msg.channel, msg.thread_ts), "1", self._turns.thread_ttl_s
        )
        assistant = msg.direct and await self._turns.coordinator.recall(assistant_marker(msg.channel, msg.thread_ts))
        if assistant:  # Slack shows "is thinking…" under the thread and clears it when the answer comes
            await self._turns.assistant_status(msg)
        # Cosmetic: when Slack refuses it, the answer is posted at the end instead. A turn re-run after a
        # crash (recovery, or a retry taking over from a dead process) reuses the first attempt's placeholder
        # (an open stream is then stopped and replaced whole: the dead process may have streamed into it).
        marker = f"placeholder:{self.key}"
        with contextlib.suppress(CoordinationUnavailable, TimeoutError):
            earlier = await asyncio.wait_for(self._turns.coordinator.recall(marker), PLACEHOLDER_LOOKUP_S)
            if earlier:
                self.streamed = self.recovered = earlier.startswith(STREAM_PREFIX)
                self.placeholder = earlier.removeprefix(STREAM_PREFIX)
                return
        self.placeholder = await self._turns.outbox.streams.start(msg.channel, msg.thread_ts, msg.user, msg.team)
        self.streamed = self.placeholder is not None
        if self.streamed:
            await self._remember_placeholder(marker, STREAM_PREFIX + str(self.placeholder))
            return
        if assistant:
            return
        try:
            self.placeholder = await self._turns.api.post(msg.channel, render_text(wording.THINKING), msg.thread_ts)
        except WebApiError as exc:
            log.warning("no placeholder for %s (%s): the answer will be posted", msg.conversation_key, exc)
            return
        await self._remember_placeholder(marker, self.placeholder)

    async def _remember_placeholder(self, marker: str, value: str) -> None:
        with contextlib.suppress(CoordinationUnavailable, TimeoutError):
            remember = self._turns.coordinator.remember(marker, value, self._turns.thread_ttl_s)
            await asyncio.wait_for(remember, PLACEHOLDER_LOOKUP_S)

    async def inbound(self) -> InboundMessage:
        msg = self.msg
        others = [uid for uid in mentioned_users(msg.text) if uid != self._bot]
        lookups = await asyncio.gather(*map(self._turns.email_of, [msg.user, *others]))
        failures = [f for _e, f in lookups if f is not None]
        if failures:
            # Degrade, never drop the turn: an unidentified sender gets answers without personal tools.
            log.warning(
                "Slack user look-up failed for event %s (reference %s): %s; answering without the user's identity",
                msg.event_id,
                new_reference_id(),
                "; ".join(map(str, failures)),
            )
        known = {uid: e for uid, (e, _f) in zip(others, lookups[1:], strict=True) if e}
        return InboundMessage(
            channel="slack",
            conversation_key=msg.conversation_key,
            user_id=msg.user,
            user_email=await self._turns.runner.identify(lookups[0][0]),
            text=clean_text(msg.text, self._bot, known),
            message_id=msg.event_id,
            shared=msg.shared,
            conversation_ref=msg.conversation_ref(),
        )

    async def deliver(self, reply: Reply) -> None:
        await self._turns.outbox.deliver(
            self.msg.conversation_ref(), reply, self.placeholder, streamed=self.streamed, recovered=self.recovered
        )

    async def tell(self, text: str) -> None:
        if self.streamed and self.placeholder:
            await self._turns.outbox.streams.stop_quietly(self.msg.channel, self.placeholder)
        await self._turns.outbox.show(self.msg.channel, self.msg.thread_ts, render_text(text), self.placeholder)

    def saved(self) -> dict[str, Any]:
        return {"placeholder": self.placeholder, "streamed": self.streamed}


@dataclass
class SlackTurns:
    """Decides which messages are ours and hands them to the shared runner; handles clicks."""

    runner: TurnRunner
    api: SlackApi
    directory: Directory
    outbox: SlackOutbox
    coordinator: Coordinator
    thread_ttl_s: int = 7 * 86400
    home: SlackHome | None = None

    @property
    def _forms(self) -> ReasonForms:
        return ReasonForms(self.api, self.runner.handler, self._identity)

    async def takes_part(self, msg: SlackMessage, bot_user_id: str | None) -> bool:
        """Whether to answer: mentions and DMs always; thread replies only in threads the bot is in."""
        if msg.mention or msg.direct:
            return True
        if bot_user_id and msg.parent_user_id == bot_user_id:
            return True
        return await self.coordinator.recall(thread_marker(msg.team, msg.channel, msg.thread_ts)) is not None

    async def on_message(self, msg: SlackMessage, bot_user_id: str | None) -> None:
        if not await self.takes_part(msg, bot_user_id):
            await self.runner.inbox.complete(event_key(msg.event_id))
            return
        await self.runner.run(SlackTurn(msg, bot_user_id, self))

    async def on_home(self, user: str, event_id: str) -> None:
        """The App Home tab was opened: publish it (one error boundary; nothing to tell on failure)."""
        if self.home is not None:
            await self.runner.guard("App Home", self.home.publish(user), _ignore)
        await self.runner.inbox.complete(event_key(event_id))

    async def on_command(self, cmd: Command) -> None:
        """`/deskhand …` or the message shortcut: answered privately; no question → the usage."""
        if cmd.question() is None:
            text = messages.NO_TEXT if cmd.shortcut else messages.USAGE
            await self.runner.guard("usage", whisper(self.api, cmd, render_text(text)), _ignore)
            await self.runner.inbox.complete(cmd.key)
            return
        await self.runner.run(PrivateTurn(cmd, self))

    async def deliver_saved(self, msg: SlackMessage, saved: dict[str, Any]) -> None:
        """Deliver an answer a dead process computed but could not show (recovery)."""
        placeholder = saved.get("placeholder")
        turn = SlackTurn(
            msg,
            None,
            self,
            placeholder if isinstance(placeholder, str) else None,
            streamed=saved.get("streamed") is True,
            recovered=True,
        )
        await self.runner.deliver_saved(turn, saved)

    async def on_assistant_thread(self, thread: AssistantThread) -> None:
        """A user opened the AI-app container: greet them in the new thread and offer prompts. Cosmetic
        calls: a failure is logged, and the thread works as a DM either way."""
        await self.coordinator.remember(assistant_marker(thread.channel, thread.thread_ts), "new", self.thread_ttl_s)
        try:
            await self.api.post(thread.channel, render_text(messages.GREETING), thread.thread_ts)
            prompts = [{"title": t, "message": m} for t, m in messages.SUGGESTED_PROMPTS]
            await self.api.set_suggested_prompts(thread.channel, thread.thread_ts, messages.PROMPTS_TITLE, prompts)
        except WebApiError as exc:
            log.warning("assistant thread %s: greeting incomplete (%s)", thread.thread_ts, exc)
        await self.runner.inbox.complete(event_key(thread.event_id))

    async def assistant_status(self, msg: SlackMessage) -> None:
        """ "is thinking…" while the turn runs, and the thread's title from its first question."""
        marker = assistant_marker(msg.channel, msg.thread_ts)
        try:
            await self.api.set_status(msg.channel, msg.thread_ts, messages.STATUS_THINKING)
            if await self.coordinator.recall(marker) == "new":
                await self.coordinator.remember(marker, "titled", self.thread_ttl_s)
                title = clean_text(msg.text, None)[: messages.TITLE_LIMIT].strip()
                if title:
                    await self.api.set_title(msg.channel, msg.thread_ts, title)
        except WebApiError as exc:
            log.warning("assistant thread %s: status/title not set (%s)", msg.thread_ts, exc)

    async def finish(self, key: str) -> None:
        await self.runner.inbox.complete(key)

    async def email_of(self, user_id: str) -> tuple[str | None, WebApiError | None]:
        try:
            return await self.directory.email_of(user_id), None
        except WebApiError as exc:
            return None, exc

    async def on_click(self, click: Click) -> None:
        async def whisper(text: str) -> None:
            await self._whisper(click, text)

        await self.runner.guard(f"click {click.action_id}", self._click(click), whisper)
        await self.runner.inbox.complete(click_key(click))

    async def _click(self, click: Click) -> None:
        if click.home:  # from the App Home tab: refusals and forms go to the clicker's DM with the bot
            click = replace(click, channel=await self.api.open_dm(click.user))
        if opens_form(click.action_id):  # Reject asks for a reason (a modal); the form decides
            # Checked before the form opens (the trigger is valid for 3 s): someone who may not decide now
            # is told why and sees no form. The submission is judged again (state may change meanwhile).
            approve = click.action_id == actions.APPROVE_WITH_COMMENT
            refused = await self.runner.handler.may_decide(click.value, await self._identity(click.user), approve)
            if refused is not None:
                await self._whisper(click, refused.message)
                await self._redraw_private(click, refused.approval)
            elif not await self._forms.open(
                click.action_id, click.value, click.trigger_id, click.channel, click.thread_ts
            ):
                await self._whisper(click, FORM_FAILED)
        elif click.action_id in actions.APPROVAL_ACTIONS:
            outcome = await self.runner.handler.decide(
                click.value, await self._identity(click.user), click.action_id == actions.APPROVE
            )
            if not outcome.accepted:
                # Nothing changed: only the clicker learns why. Refreshing every copy of an accepted
                # decision is the agent core's job (through each channel's outbox).
                await self._whisper(click, outcome.message)
            await self._redraw_private(click, outcome.approval)
        elif click.action_id in actions.FEEDBACK_ACTIONS:  # the buttons of answers posted before native ones
            user = await self._identity(click.user)
            await self.runner.handler.feedback(click.value, user, click.action_id == actions.FEEDBACK_HELPFUL)
            await self._whisper(click, wording.FEEDBACK_THANKS)
        elif click.action_id == actions.FEEDBACK:
            verdict, _, audit_id = click.value.partition(":")
            if not audit_id or verdict not in (actions.HELPFUL_VALUE, actions.UNHELPFUL_VALUE):
                await self._whisper(click, wording.UNKNOWN_ACTION)
                return
            user = await self._identity(click.user)
            await self.runner.handler.feedback(audit_id, user, verdict == actions.HELPFUL_VALUE)
            await self._whisper(click, wording.FEEDBACK_THANKS)
        elif click.action_id == actions.GET_HUMAN:
            await self._get_human(click)

    async def _get_human(self, click: Click) -> None:
        """Hand the answer's question over (the agent's hand-off: persisted, posted to the team or ticketed)
        and post what was done in the thread the answer is in."""
        thread_ts = click.thread_ts or click.message_ts
        team = click.team
        ref: dict[str, Any] = {"team": team, "channel": click.channel, "thread_ts": thread_ts, "user": click.user}
        ref["shared"] = not click.channel.startswith("D")
        message = InboundMessage(
            channel="slack",
            conversation_key=conversation_key(team, click.channel, thread_ts),
            user_id=click.user,
            user_email=await self._identity(click.user),
            text="",
            message_id=click_key(click),
            shared=bool(ref["shared"]),
            conversation_ref=ref,
        )
        reply = await self.runner.handler.request_human(click.value, message)
        await self.outbox.deliver(ref, reply)

    async def on_submission(self, sub: Submission, key: str) -> None:
        """A submitted reason form: the decision with its reason (one error boundary, like a click)."""
        forms = self._forms

        async def whisper(text: str) -> None:
            await forms.whisper(sub.channel, sub.user, sub.thread_ts, text)

        await self.runner.guard(f"reason form {sub.approval_id}", forms.submit(sub), whisper)
        await self.runner.inbox.complete(key)

    async def _identity(self, user_id: str) -> str | None:
        email, failure = await self.email_of(user_id)
        if failure is not None:  # an unidentified clicker is refused by the core, never trusted
            log.warning("Slack user look-up failed for a click (reference %s): %s", new_reference_id(), failure)
        return await self.runner.identify(email)

    async def _redraw_private(self, click: Click, view: ApprovalView | None) -> None:
        """A click on a private copy of an approval card (which `chat.update` can't reach): redraw that copy
        as the approval stands now through the click's `response_url`, so no button on it lies."""
        if not (click.ephemeral and click.response_url) or view is None:
            return
        message = await self.outbox.approval_message(view)
        in_list = list_of(click.block_id)
        try:
            if in_list is None:  # a card of its own
                await replace_private(click.response_url, message)
            elif self.outbox.private is not None:  # one card of a list: the list, that card redrawn
                await self.outbox.private.redraw_clicked(in_list, click.response_url, view, message)
        except WebApiError as exc:
            log.warning("could not redraw a private approval card of %s: %s", view.approval_id, exc)

    async def _whisper(self, click: Click, text: str) -> None:
        try:
            await self.api.ephemeral(click.channel, click.user, render_text(text), click.thread_ts)
        except WebApiError as exc:
            log.warning("could not send an ephemeral message to %s: %s", click.user, exc)


async def _ignore(_text: str) -> None:
    return None
