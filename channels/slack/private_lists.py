"""Private approval lists (`/deskhand approvals`) that are redrawn when an approval in them changes.

An ephemeral message can't be edited with `chat.update`; only a `response_url` can replace it, and Slack
allows 5 posts per URL within 30 minutes. So the list is posted as one message through the command's
`response_url`, which is recorded with each listed approval's message refs (durable, like every other
card's channel and ts); when one of them is decided or expires, the outbox redraws the whole list with
`replace_original` (each card as it was last drawn, the changed one anew). The drawing is kept in the
coordination store for a day, under a list id that is also in each card's button block id, so a click on
the list after its URL is spent (30 minutes, 5 posts) redraws the whole list through the click's own
`response_url`, with the clicked card as the approval stands (channels/slack/turns.py).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from channels.base import ApprovalView, MessageRef
from channels.coordination import Coordinator
from channels.slack import actions
from channels.slack.commands import replace_private, respond
from channels.slack.render import MAX_BLOCKS, Block, Rendered
from channels.slack.webapi import WebApiError

log = logging.getLogger(__name__)
RememberApproval = Callable[[str, MessageRef], Awaitable[None]]

RESPONSE_URL_S = 30 * 60  # a response_url works for 30 minutes…
RESPONSE_URL_USES = 5  # …and for 5 posts
DRAWING_S = 86400  # how long a list's drawing is kept for clicks on it (through their own response_url)
CARD_BLOCKS = 6  # an open approval card's blocks, with the divider before it


def list_id(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def list_of(block_id: str) -> str | None:
    """The list a clicked button row belongs to (`deskhand_approval_buttons:<approval>:<list>`), or None."""
    parts = block_id.split(":")
    return parts[2] if len(parts) == 3 and parts[0] == actions.APPROVAL_BUTTONS_BLOCK and parts[2] else None


def _key(list_id: str) -> str:
    return f"slack:private-list:{list_id}"


def card_blocks(view: ApprovalView, message: Rendered, in_list: str) -> list[Block]:
    """One card's blocks in a list, its block ids unique in the message and naming the list."""
    block_id = f"{actions.APPROVAL_BUTTONS_BLOCK}:{view.approval_id}:{in_list}"
    return [{**b, "block_id": block_id} if "block_id" in b else b for b in message.blocks]


class PrivateLists:
    """Posts a private list through a `response_url` and redraws it while the URL lasts."""

    def __init__(
        self, coordinator: Coordinator, remember: RememberApproval | None, clock: Callable[[], float] = time.time
    ) -> None:
        self._coordinator, self._remember, self._clock = coordinator, remember, clock

    @staticmethod
    def fits(intro: Rendered, count: int) -> bool:
        return len(intro.blocks) + count * CARD_BLOCKS <= MAX_BLOCKS

    async def post(self, url: str, user: str, intro: Rendered, cards: Sequence[tuple[ApprovalView, Rendered]]) -> None:
        """One ephemeral message with `intro` and the cards; raises `WebApiError` when Slack refused it."""
        lid = list_id(url)
        drawn = {view.approval_id: card_blocks(view, message, lid) for view, message in cards}
        order = [view.approval_id for view, _message in cards]
        await respond(url, _message(intro, order, drawn))
        until = self._clock() + RESPONSE_URL_S
        snapshot = {"text": intro.text, "intro": intro.blocks, "order": order, "cards": drawn}
        try:  # shown already: what follows only makes it redrawable
            await self._use(url)  # the first of its 5 posts
            await self._coordinator.remember(_key(lid), json.dumps(snapshot), DRAWING_S)
            if self._remember is not None:
                for approval_id in order:
                    ref = {"response_url": url, "user": user, "until": int(until)}
                    await self._remember(approval_id, MessageRef("slack", ref))
        except Exception:
            log.warning("a private approval list was shown but can't be redrawn", exc_info=True)

    async def redraw(self, url: str, until: float, view: ApprovalView, message: Rendered) -> bool:
        """Replace the list with `view` drawn anew; False when the URL is spent (time or posts) or the list's
        drawing is gone (nothing is posted then)."""
        if self._clock() >= until:
            return False
        return await self._redraw(list_id(url), url, view, message, command=True)

    async def redraw_clicked(self, in_list: str, click_url: str, view: ApprovalView, message: Rendered) -> bool:
        """A click on list `in_list`: replace it through the click's own `response_url`; False when its
        drawing is gone (then it is left as it is: replacing it with one card would drop the others)."""
        return await self._redraw(in_list, click_url, view, message, command=False)

    async def _redraw(self, lid: str, url: str, view: ApprovalView, message: Rendered, *, command: bool) -> bool:
        async with self._coordinator.lock(_key(lid) + ":lock", 30.0):
            raw = await self._coordinator.recall(_key(lid))
            if raw is None:
                return False
            snapshot: dict[str, Any] = json.loads(raw)
            if view.approval_id not in snapshot["order"] or (command and not await self._use(url)):
                return False
            snapshot["cards"][view.approval_id] = card_blocks(view, message, lid)
            intro = Rendered(snapshot["text"], snapshot["intro"])
            try:
                await replace_private(url, _message(intro, snapshot["order"], snapshot["cards"]))
            except WebApiError as exc:  # expired or spent early: clicks on it answer with the current state
                log.info("a private approval list could not be redrawn (%s)", exc)
                return False
            await self._coordinator.remember(_key(lid), json.dumps(snapshot), DRAWING_S)
        return True

    async def _use(self, url: str) -> bool:
        """Take one of the URL's 5 posts; False when all are taken."""
        for n in range(1, RESPONSE_URL_USES + 1):
            if await self._coordinator.claim(f"{_key(list_id(url))}:use:{n}", RESPONSE_URL_S):
                return True
        log.info("a private list's response_url has no posts left: not redrawn")
        return False


def _message(intro: Rendered, order: Sequence[str], cards: dict[str, list[Block]]) -> Rendered:
    blocks = list(intro.blocks)
    for approval_id in order:
        blocks += [{"type": "divider"}, *cards[approval_id]]
    return Rendered(text=intro.text, blocks=blocks)
