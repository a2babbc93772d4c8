"""Delivery of approval offers, refreshed approval messages and notices to the channels that hold them."""

from __future__ import annotations

import logging
from typing import Any

from channels.base import ApprovalView, ChannelOutbox, MessageRef, Reply, TeamDesk

log = logging.getLogger(__name__)


class ChannelFanout:
    """Sends approval refreshes and requester notifications to whichever channel holds each message."""

    def __init__(self, outboxes: dict[str, ChannelOutbox]) -> None:
        self.outboxes = outboxes

    async def refresh(self, view: ApprovalView, refs: list[MessageRef]) -> None:
        for ref in refs:
            outbox = self.outboxes.get(ref.channel)
            if outbox is None:
                continue
            try:
                await outbox.refresh_approval(ref, view)
            except Exception:
                log.exception("refreshing approval %s in %s failed", view.approval_id, ref.channel)

    async def offer(self, view: ApprovalView, origin: str) -> None:
        for name, outbox in self.outboxes.items():
            try:
                await outbox.offer_approval(view, origin)
            except Exception:
                log.exception("offering approval %s in %s failed", view.approval_id, name)

    async def notify(self, channel: str, conversation_ref: dict[str, Any], reply: Reply) -> None:
        outbox = self.outboxes.get(channel)
        if outbox is not None:
            await outbox.notify(conversation_ref, reply)

    def desk(self, channel: str) -> TeamDesk | None:
        """The channel's way to post a hand-off to a team channel, when it has one."""
        outbox = self.outboxes.get(channel)
        return outbox if isinstance(outbox, TeamDesk) else None
