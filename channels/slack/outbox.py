"""The output half of the Slack channel: deliver replies (privately when needed) and refresh approval messages."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from channels.base import ApprovalView, MessageRef, Reply, TeamPost
from channels.core import present, wording
from channels.core.delivery import Surface, deliver_reply
from channels.slack import messages
from channels.slack.events import conversation_key
from channels.slack.live import UPDATE_EVERY_S
from channels.slack.private_lists import PrivateLists
from channels.slack.render import Block, Rendered, render_approval, render_reply, render_text, reply_tail
from channels.slack.stream import SlackStreams, StreamClosed
from channels.slack.webapi import Directory, SlackApi, WebApiError

log = logging.getLogger(__name__)

# chat.update errors after which a fresh post cannot duplicate what the user sees
_GONE = frozenset({"message_not_found", "cant_update_message", "edit_window_closed"})

RememberApproval = Callable[[str, MessageRef], Awaitable[None]]
Changed = Callable[[ApprovalView], Awaitable[None]]


class SlackOutbox:
    """Implements `channels.base.ChannelOutbox` for Slack, and delivers the replies of turns."""

    name = "slack"

    def __init__(
        self,
        api: SlackApi,
        directory: Directory,
        remember: RememberApproval | None = None,
        streams: SlackStreams | None = None,
    ) -> None:
        self._api = api
        self.api = api
        self.update_every_s = UPDATE_EVERY_S  # chat.update of an answer growing while it is produced
        self._directory = directory
        self._remember = remember
        self.streams = streams or SlackStreams(api, enabled=False)
        self.changed: Changed | None = None  # an approval was shown or redrawn (the App Home republishes)
        self.private: PrivateLists | None = None  # `/deskhand approvals` lists, redrawn through response_url

    async def refresh_approval(self, ref: MessageRef, view: ApprovalView) -> None:
        """Redraw an approval message: a channel message with `chat.update`, a private list through the
        command's `response_url` while it lasts (decision stamp, buttons removed once closed)."""
        url, until = ref.data.get("response_url"), ref.data.get("until")
        if ref.channel == self.name and isinstance(url, str) and isinstance(until, int | float):
            if self.private is not None:
                await self.private.redraw(url, float(until), view, await self.approval_message(view))
            return
        await self._update_message(ref, view)

    async def _update_message(self, ref: MessageRef, view: ApprovalView) -> None:
        channel, ts = ref.data.get("channel"), ref.data.get("ts")
        if ref.channel != self.name or not channel or not ts:
            raise ValueError(f"not a Slack message reference: {ref!r}")
        await self._api.update(str(channel), str(ts), await self.approval_message(view))
        await self._changed(view)

    async def _changed(self, view: ApprovalView) -> None:
        if self.changed is not None:
            await self.changed(view)  # never raises (SlackHome.changed logs its failures)

    async def notify(self, conversation_ref: dict[str, Any], reply: Reply) -> None:
        """Post a reply into the conversation a turn came from (privately if sensitive and shared)."""
        await self.deliver(conversation_ref, reply)

    async def offer_approval(self, view: ApprovalView, origin: str) -> None:
        """An approval requested in another channel: DM it to each approver who has a Slack account.
        (Requested in Slack, it is already in the thread with the approvers mentioned.)"""
        if origin == self.name:
            return
        await self._changed(view)
        message = await self.approval_message(view)
        for email in view.approvers:
            try:  # one approver Slack cannot reach now must not cost the others their copy
                user = await self._directory.user_id_of(email)
                if not user:
                    continue
                dm = await self._api.open_dm(user)
                ts = await self._api.post(dm, message)
            except WebApiError as exc:
                log.warning("approval %s not offered to an approver by DM: %s", view.approval_id, exc)
                continue
            if self._remember is not None:
                await self._remember(view.approval_id, MessageRef(self.name, {"channel": dm, "ts": ts}))

    async def post_to_team(self, destination: dict[str, Any], reply: Reply, origin_ref: dict[str, Any]) -> TeamPost:
        """A hand-off: a new message in the team's channel; the team answers in its thread."""
        channel = str(destination["channel"])
        ts = await self._api.post(channel, render_reply(reply, feedback=False))
        team = str(destination.get("team") or origin_ref.get("team") or "")
        return TeamPost(conversation_key(team, channel, ts))

    async def link_to(self, conversation_ref: dict[str, Any]) -> str | None:
        """The permalink of the conversation's thread; None for a DM (no one else could open it)."""
        channel, thread_ts, _user = _target(conversation_ref)
        if not conversation_ref.get("shared", True) or not thread_ts:
            return None
        try:
            return await self._api.permalink(channel, thread_ts)
        except Exception as exc:  # a missing link never stops the hand-off itself
            log.warning("chat.getPermalink failed for %s (%s)", channel, type(exc).__name__)
            return None

    async def approval_message(self, view: ApprovalView) -> Rendered:
        people = [view.requester, *view.approvers, *(d.approver for d in view.decisions)]
        return render_approval(view, await self._directory.mentions(people))

    async def deliver(
        self,
        ref: dict[str, Any],
        reply: Reply,
        placeholder_ts: str | None = None,
        *,
        streamed: bool = False,
        recovered: bool = False,
        shown: str = "",
    ) -> None:
        """Show `reply` in the thread of `ref` (replacing the placeholder when there is one), the shared way
        (`deliver_reply`): privately by DM when it must be; an approval request is its own message in the
        thread, remembered for later refreshes. A `streamed` placeholder is an open chat stream: the answer
        is streamed into it (`recovered`: a dead process may have streamed part of it, so the stream is
        stopped and the message replaced whole with `chat.update`). `shown`: the text already appended while
        the answer was produced; the final answer continues it (or replaces the message when it does not
        begin with it)."""
        channel, thread_ts, user = _target(ref)
        stream = (
            _Stream(self, channel, thread_ts, placeholder_ts, recovered, shown) if streamed and placeholder_ts else None
        )

        async def privately(answer: Reply) -> None:
            if not user:
                raise ValueError("a sensitive reply needs the user to send it to privately")
            await self._api.post(await self._api.open_dm(user), render_reply(answer))

        async def approval(view: ApprovalView, where: str = channel, thread: str | None = thread_ts) -> None:
            ts = await self._api.post(where, await self.approval_message(view), thread)
            if self._remember is not None:
                ref_data = {"channel": where, "ts": ts, "thread_ts": thread}
                await self._remember(view.approval_id, MessageRef(self.name, ref_data))
            if view.open and view is reply.approval:  # a new request: its people's Homes list it
                await self._changed(view)

        async def show(answer: Reply) -> None:
            if stream is None:
                await self.show(channel, thread_ts, render_reply(answer), placeholder_ts)
            else:
                markdown = present.reply_text(answer) or wording.EMPTY_ANSWER
                await stream.finish(markdown, reply_tail(answer), render_reply(answer))

        async def tell(text: str) -> None:
            if stream is None:
                await self.show(channel, thread_ts, render_text(text), placeholder_ts)
            else:
                await stream.finish(text, [], render_text(text))

        async def approval_privately(view: ApprovalView) -> None:
            if not user:
                raise ValueError("a private approval card needs the user to send it to")
            await approval(view, await self._api.open_dm(user), None)

        surface = Surface(
            show=show,
            show_privately=privately,
            tell=tell,
            show_approval=approval,
            show_approval_privately=approval_privately,
        )
        await deliver_reply(reply, shared=bool(ref.get("shared", True)), surface=surface)
        if stream is not None and not stream.done:  # nothing went into it (an approval alone): close it
            await stream.finish(messages.APPROVAL_BELOW if reply.approval else wording.EMPTY_ANSWER, [], None)

    async def show(self, channel: str, thread_ts: str | None, message: Rendered, placeholder_ts: str | None) -> None:
        """Replace the placeholder (post once, then update) or post when there is none. An update that
        still fails after the client's retries (a proxy's 5xx, an unreadable answer, a time-out) posts the
        message anew: a possible second copy is better than a "Thinking…" that never changes."""
        if placeholder_ts:
            try:
                await self._api.update(channel, placeholder_ts, message)
                return
            except WebApiError as exc:
                if exc.reason in _GONE:
                    log.warning("placeholder %s is gone (%s): posting anew", placeholder_ts, exc.reason)
                else:
                    log.warning("could not replace placeholder %s (%s): posting anew", placeholder_ts, exc)
        await self._api.post(channel, message, thread_ts)


class _Stream:
    """The open chat stream a turn began with, finished once."""

    def __init__(
        self, outbox: SlackOutbox, channel: str, thread_ts: str | None, ts: str, recovered: bool, shown: str = ""
    ) -> None:
        self._outbox, self._channel, self._thread, self._ts, self._recovered = outbox, channel, thread_ts, ts, recovered
        self._shown = shown
        self.done = False

    async def finish(self, markdown: str, blocks: list[Block], whole: Rendered | None) -> None:
        streams = self._outbox.streams
        self.done = True
        if not self._recovered and markdown.startswith(self._shown):
            try:
                await streams.finish(self._channel, self._ts, markdown, blocks, shown=self._shown)
                return
            except StreamClosed as exc:
                log.warning("stream %s closed (%s): replacing the message", self._ts, exc)
        else:
            await streams.stop_quietly(self._channel, self._ts)
        await self._outbox.show(self._channel, self._thread, whole or render_text(markdown), self._ts)


def _target(ref: dict[str, Any]) -> tuple[str, str | None, str | None]:
    channel = ref.get("channel")
    if not isinstance(channel, str) or not channel:
        raise ValueError("conversation_ref has no Slack channel")
    thread_ts = ref.get("thread_ts")
    user = ref.get("user")
    return channel, thread_ts if isinstance(thread_ts, str) else None, user if isinstance(user, str) else None
