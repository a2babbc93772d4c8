"""Slack's App Home tab (`views.publish`): what waits for the person's decision (with the usual buttons),
their own requests (status, who it waits on, expiry) and what Deskhand can do. Published when the tab is
opened, and again for the requester and approvers whenever an approval's messages are refreshed."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from channels.base import ApprovalView, HomeView, TurnHandler
from channels.coordination import Coordinator
from channels.core import present
from channels.slack import actions, messages
from channels.slack.render import Block, escape, mention, render_approval, stamp, truncate
from channels.slack.webapi import Directory, SlackApi, WebApiError

log = logging.getLogger(__name__)

BLOCKS_MAX = 100  # Slack's limit for a Home tab view
HOME_TTL_S = 30 * 86400  # who opened their Home recently (republished on changes)
SECTION_LIMIT = 3000

Identify = Callable[[str | None], Awaitable[str | None]]


def _header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": text}}


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, SECTION_LIMIT)}}


def _approval_blocks(view: ApprovalView, mentions: dict[str, str]) -> list[Block]:
    """The approval message's blocks; block ids made unique in the view (one button row per approval)."""
    blocks = render_approval(view, mentions).blocks
    return [
        {**b, "block_id": f"{actions.APPROVAL_BUTTONS_BLOCK}:{view.approval_id}"} if "block_id" in b else b
        for b in blocks
    ]


def _request_line(view: ApprovalView, mentions: dict[str, str]) -> str:
    line = f"*{escape(view.title)}*\n{stamp(view, mentions)}"
    if view.open:
        decided = {d.approver for d in view.decisions}
        waiting = [mention(a, mentions) for a in view.approvers if a not in decided]
        line += "\n" + messages.HOME_WAITS_ON.format(who=present.join_names(waiting) or "—")
    return line


def render_home(home: HomeView | None, mentions: dict[str, str]) -> dict[str, Any]:
    """The Home tab view (`type: home`, at most 100 blocks). `home` None: the person is not in the directory."""
    if home is None:
        blocks = [_section(messages.HOME_UNKNOWN), _header(messages.HOME_CAN_DO), _section(messages.HOME_CAN_DO_TEXT)]
        return {"type": "home", "blocks": blocks}
    tail = [{"type": "divider"}, _header(messages.HOME_CAN_DO), _section(messages.HOME_CAN_DO_TEXT)]
    requests: list[Block] = [{"type": "divider"}, _header(messages.HOME_REQUESTS)]
    requests += [_section(_request_line(v, mentions)) for v in home.requests] or [_section(messages.HOME_NO_REQUESTS)]
    room = BLOCKS_MAX - len(tail) - len(requests) - 2  # the header, and a "more" note if needed
    waiting: list[Block] = []
    for n, view in enumerate(home.waiting):
        blocks = [*_approval_blocks(view, mentions), {"type": "divider"}]
        if len(waiting) + len(blocks) > room:
            waiting.append(_section(messages.HOME_MORE))
            break
        waiting += blocks if n + 1 < len(home.waiting) else blocks[:-1]
    head = [_header(messages.HOME_WAITING)]
    body = waiting or [_section(messages.HOME_NOTHING_WAITING)]
    return {"type": "home", "blocks": [*head, *body, *requests, *tail]}


class SlackHome:
    """Publishes people's Home tabs from the agent's `home` overview."""

    def __init__(
        self, api: SlackApi, directory: Directory, handler: TurnHandler, identify: Identify, coordinator: Coordinator
    ) -> None:
        self._api, self._directory, self._handler = api, directory, handler
        self._identify, self._coordinator = identify, coordinator

    async def publish(self, user_id: str) -> None:
        """Build and publish `user_id`'s Home; remember them so changes republish it."""
        email: str | None = None
        try:
            email = await self._identify(await self._directory.email_of(user_id))
        except WebApiError as exc:
            log.warning("Home of %s: user look-up failed (%s)", user_id, exc)
        home = await self._handler.home(email) if email else None
        people = [p for v in (home.waiting + home.requests if home else ()) for p in (v.requester, *v.approvers)]
        people += [d.approver for v in (home.waiting + home.requests if home else ()) for d in v.decisions]
        view = render_home(home, await self._directory.mentions(people))
        await self._api.publish_home(user_id, view)
        if email:
            await self._coordinator.remember(f"slack:home:{email}", user_id, HOME_TTL_S)

    async def changed(self, view: ApprovalView) -> None:
        """An approval changed: republish the Home of its requester and approvers who have opened theirs."""
        for email in dict.fromkeys([view.requester, *view.approvers]):
            try:
                user_id = await self._coordinator.recall(f"slack:home:{email}")
                if user_id:
                    await self.publish(user_id)
            except Exception:  # cosmetic: the approval messages themselves are already refreshed
                log.warning("could not republish the Home tab after %s changed", view.approval_id, exc_info=True)
