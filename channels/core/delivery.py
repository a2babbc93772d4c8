"""How a reply reaches its user, the same in every channel: sensitive results privately with a pointer left
in the shared conversation, the answer in the conversation, an approval request as its own message."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from channels.base import ApprovalView, Reply
from channels.core import wording


@dataclass(frozen=True)
class Surface:
    """Where a channel can put things for one conversation."""

    show: Callable[[Reply], Awaitable[object]]  # in the conversation
    show_privately: Callable[[Reply], Awaitable[object]]  # to the user alone
    tell: Callable[[str], Awaitable[object]]  # a short notice in the conversation
    show_approval: Callable[[ApprovalView], Awaitable[object]]  # an approval message in the conversation


async def deliver_reply(reply: Reply, *, shared: bool, surface: Surface) -> None:
    """Personal or financial results asked for in a shared conversation go to the user privately, with a
    pointer left where they asked. An approval request stays where it was asked for: the approvers act on
    it there (it shows what and why, never the tool's arguments)."""
    if reply.sensitive and shared:
        await surface.show_privately(reply)
        await surface.tell(wording.SENT_PRIVATELY)
    elif reply.text or reply.approval is None:
        await surface.show(reply)
    if reply.approval is not None:
        await surface.show_approval(reply.approval)
