"""The work done after an ack: one turn per message (in order per thread), approval and feedback clicks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid

from channels.base import InboundMessage, Reply, TurnHandler
from channels.coordination import CoordinationUnavailable, Coordinator, LockTimeout
from channels.inbox import Inbox, reply_from_data
from channels.slack import actions, messages
from channels.slack.events import (
    Click,
    SlackMessage,
    clean_text,
    click_key,
    event_key,
    mentioned_users,
    thread_marker,
)
from channels.slack.outbox import SlackOutbox
from channels.slack.render import render_text
from channels.slack.webapi import Directory, SlackApi, WebApiError

log = logging.getLogger(__name__)
DELIVERY_ATTEMPTS = 3
PLACEHOLDER_LOOKUP_S = 0.5  # the placeholder marker is cosmetic: never let a slow Redis hold up the turn


def _reference() -> str:
    return uuid.uuid4().hex[:8]


class SlackTurns:
    """Runs turns and clicks against the `TurnHandler`; one error boundary per unit of work."""

    def __init__(
        self,
        handler: TurnHandler,
        api: SlackApi,
        directory: Directory,
        outbox: SlackOutbox,
        coordinator: Coordinator,
        inbox: Inbox,
        *,
        lock_timeout_s: float = 120.0,
        thread_ttl_s: int = 7 * 86400,
    ) -> None:
        self._handler = handler
        self._api = api
        self._directory = directory
        self._outbox = outbox
        self._coordinator = coordinator
        self._inbox = inbox
        self._lock_timeout = lock_timeout_s
        self._thread_ttl = thread_ttl_s

    async def takes_part(self, msg: SlackMessage, bot_user_id: str | None) -> bool:
        """Whether to answer: mentions and DMs always; thread replies only in threads the bot is in."""
        if msg.mention or msg.direct:
            return True
        if bot_user_id and msg.parent_user_id == bot_user_id:
            return True
        return await self._coordinator.recall(thread_marker(msg.team, msg.channel, msg.thread_ts)) is not None

    async def on_message(self, msg: SlackMessage, bot_user_id: str | None) -> None:
        """One turn. The event is marked done only once its reply was shown (or the user was told it
        failed); a process that dies before that leaves it to the inbox's recovery pass."""
        key = event_key(msg.event_id)
        if not await self.takes_part(msg, bot_user_id):
            await self._inbox.complete(key)
            return
        ref = msg.conversation_ref()
        placeholder: str | None = None
        await self._inbox.checkpoint("turn.after_accept", key)
        try:
            await self._coordinator.remember(thread_marker(msg.team, msg.channel, msg.thread_ts), "1", self._thread_ttl)
            placeholder = await self._placeholder(msg, key)
            async with self._coordinator.lock(msg.conversation_key, timeout_s=self._lock_timeout):
                inbound = await self._inbound(msg, bot_user_id)
                reply = await self._handler.handle(inbound)
                await self._inbox.answered(key, reply, {"placeholder": placeholder})
                await self._inbox.checkpoint("turn.after_answer", key)
                await self._deliver(key, ref, reply, placeholder)
        except LockTimeout:
            await self._tell(ref, messages.BUSY, placeholder)
            await self._inbox.complete(key)
        except Exception:
            reference = _reference()
            log.exception("Slack turn failed (reference %s, conversation %s)", reference, msg.conversation_key)
            await self._tell(ref, messages.APOLOGY.format(ref=reference), placeholder)
            await self._inbox.complete(key, ok=False)

    async def deliver_saved(self, msg: SlackMessage, saved: dict[str, object]) -> None:
        """Deliver an answer a dead process computed but could not show (recovery)."""
        reply = reply_from_data(saved["reply"])  # type: ignore[arg-type]
        placeholder = saved.get("placeholder")
        await self._deliver(
            event_key(msg.event_id),
            msg.conversation_ref(),
            reply,
            placeholder if isinstance(placeholder, str) else None,
        )

    async def finish(self, key: str) -> None:
        await self._inbox.complete(key)

    async def _deliver(self, key: str, ref: dict[str, object], reply: Reply, placeholder: str | None) -> None:
        """Show the reply. A Web API failure was already retried by `SlackApi` (safe methods) or the outbox
        (a failed update is re-posted); anything else is retried here briefly. If it still fails, the user
        is told with a reference (never silence), and the saved answer stays unfinished in the inbox, so
        the recovery pass delivers it later (it is never recomputed or dropped)."""
        for attempt in range(DELIVERY_ATTEMPTS):
            try:
                await self._outbox.deliver(dict(ref), reply, placeholder)
            except Exception as exc:
                if isinstance(exc, WebApiError) or attempt + 1 == DELIVERY_ATTEMPTS:
                    reference = _reference()
                    log.warning(
                        "could not deliver the answer to %s (reference %s); recovery will retry",
                        key,
                        reference,
                        exc_info=True,
                    )
                    await self._tell(ref, messages.APOLOGY.format(ref=reference), placeholder)
                    return
                await asyncio.sleep(0.5 * 2**attempt)
            else:
                await self._inbox.complete(key)
                return

    async def _placeholder(self, msg: SlackMessage, key: str) -> str | None:
        """Post "Thinking…" once per event (cosmetic: when Slack refuses it, the answer is posted at the end
        instead). A turn re-run after a crash or taken over from a dead process reuses the placeholder the
        first attempt posted, so the thread never shows two."""
        marker = f"placeholder:{key}"
        with contextlib.suppress(CoordinationUnavailable, TimeoutError):
            earlier = await asyncio.wait_for(self._coordinator.recall(marker), PLACEHOLDER_LOOKUP_S)
            if earlier:
                return earlier
        try:
            ts = await self._api.post(msg.channel, render_text(messages.THINKING), msg.thread_ts)
        except WebApiError as exc:
            log.warning("no placeholder for %s (%s): the answer will be posted", msg.conversation_key, exc)
            return None
        if ts:
            with contextlib.suppress(CoordinationUnavailable, TimeoutError):
                await asyncio.wait_for(self._coordinator.remember(marker, ts, self._thread_ttl), PLACEHOLDER_LOOKUP_S)
        return ts

    async def _inbound(self, msg: SlackMessage, bot_user_id: str | None) -> InboundMessage:
        others = [uid for uid in mentioned_users(msg.text) if uid != bot_user_id]
        lookups = await asyncio.gather(*map(self._email_of, [msg.user, *others]))
        failures = [f for _e, f in lookups if f is not None]
        if failures:
            # Degrade, never drop the turn: an unidentified sender gets answers without personal tools.
            log.warning(
                "Slack user look-up failed for event %s (reference %s): %s; answering without the user's identity",
                msg.event_id,
                _reference(),
                "; ".join(map(str, failures)),
            )
        email = lookups[0][0]
        known = {uid: e for uid, (e, _f) in zip(others, lookups[1:], strict=True) if e}
        identity = await self._handler.identify(email) if email else None
        return InboundMessage(
            channel="slack",
            conversation_key=msg.conversation_key,
            user_id=msg.user,
            user_email=identity,
            text=clean_text(msg.text, bot_user_id, known),
            message_id=msg.event_id,
            shared=msg.shared,
            conversation_ref=msg.conversation_ref(),
        )

    async def _email_of(self, user_id: str) -> tuple[str | None, WebApiError | None]:
        try:
            return await self._directory.email_of(user_id), None
        except WebApiError as exc:
            return None, exc

    async def _tell(self, ref: dict[str, object], text: str, placeholder: str | None) -> None:
        try:
            thread_ts = ref.get("thread_ts")
            thread = thread_ts if isinstance(thread_ts, str) else None
            await self._outbox.show(str(ref["channel"]), thread, render_text(text), placeholder)
        except WebApiError as exc:
            log.warning("could not tell the user in %s: %s", ref.get("channel"), exc)

    async def on_click(self, click: Click) -> None:
        try:
            if click.action_id in actions.APPROVAL_ACTIONS:
                await self._decide(click)
            elif click.action_id in actions.FEEDBACK_ACTIONS:
                await self._feedback(click)
        except Exception:
            reference = _reference()
            log.exception("Slack click %s failed (reference %s)", click.action_id, reference)
            await self._whisper(click, messages.CLICK_FAILED.format(ref=reference))
        await self._inbox.complete(click_key(click))

    async def _identity(self, user_id: str) -> str | None:
        email, failure = await self._email_of(user_id)
        if failure is not None:  # an unidentified clicker is refused by the core, never trusted
            log.warning("Slack user look-up failed for a click (reference %s): %s", _reference(), failure)
        return await self._handler.identify(email) if email else None

    async def _decide(self, click: Click) -> None:
        approver = await self._identity(click.user)
        outcome = await self._handler.decide(click.value, approver, click.action_id == actions.APPROVE)
        if not outcome.accepted:
            # Nothing changed: only the clicker learns why. Refreshing every copy of an accepted
            # decision is the agent core's job (through each channel's outbox).
            await self._whisper(click, outcome.message)

    async def _feedback(self, click: Click) -> None:
        user = await self._identity(click.user)
        await self._handler.feedback(click.value, user, click.action_id == actions.FEEDBACK_HELPFUL)
        await self._whisper(click, messages.FEEDBACK_THANKS)

    async def _whisper(self, click: Click, text: str) -> None:
        try:
            await self._api.ephemeral(click.channel, click.user, render_text(text), click.thread_ts)
        except WebApiError as exc:
            log.warning("could not send an ephemeral message to %s: %s", click.user, exc)
