"""Which Slack messages Deskhand takes part in, assistant threads, commands and clicks, run by the shared core
(one message's turn — placeholder or stream, user look-ups, live answer, delivery — is `turn.py`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

from channels.base import ApprovalView, InboundMessage
from channels.context import new_reference_id
from channels.coordination import Coordinator
from channels.core import wording
from channels.core.turns import TurnRunner
from channels.slack import actions, messages
from channels.slack.commands import Command, PrivateTurn, privately, replace_private, whisper
from channels.slack.events import (
    AssistantThread,
    Click,
    SlackMessage,
    assistant_marker,
    clean_text,
    click_key,
    conversation_key,
    event_key,
    thread_marker,
)
from channels.slack.home import SlackHome
from channels.slack.outbox import SlackOutbox
from channels.slack.private_lists import list_of
from channels.slack.reasons import FORM_FAILED, ReasonForms, Submission, opens_form
from channels.slack.render import Rendered, render_section, render_text
from channels.slack.turn import SlackTurn
from channels.slack.webapi import Directory, SlackApi, WebApiError

log = logging.getLogger(__name__)


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
        elif click.action_id == actions.SHOW_SECTION:
            await self._show_section(click)

    async def _show_section(self, click: Click) -> None:
        """The full section of a shortened answer, only to the clicker: through the click's `response_url`
        when the answer is ephemeral (`/deskhand`, the shortcut: possibly in a channel the bot is not in),
        else `chat.postEphemeral` in the answer's thread (fallback order: `commands.privately`)."""
        section = await self.runner.handler.full_section(click.value)
        for message in render_section(section):
            await self._privately(click, message, url_first=click.ephemeral)

    async def _privately(self, click: Click, message: Rendered, *, url_first: bool = False) -> None:
        await privately(
            self.api,
            click.channel,
            click.user,
            message,
            thread_ts=click.thread_ts,
            response_url=click.response_url,
            url_first=url_first,
        )

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
        """A short note to the clicker: `chat.postEphemeral`, or the click's `response_url` when refused."""
        try:
            await self._privately(click, render_text(text))
        except WebApiError as exc:
            log.warning("could not send an ephemeral message to %s: %s", click.user, exc)


async def _ignore(_text: str) -> None:
    return None
