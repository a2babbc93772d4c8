"""How the agent reaches channels outside a user's turn (approval offers, refreshed messages, notices),
and the short reference ids people quote back to support."""

from __future__ import annotations

import secrets
from typing import Any, Protocol

from channels.base import ApprovalView, MessageRef, Reply


class Fanout(Protocol):
    """Delivers what happens outside a user's turn to every channel that shows it."""

    async def refresh(self, view: ApprovalView, refs: list[MessageRef]) -> None: ...

    async def offer(self, view: ApprovalView, origin: str) -> None: ...

    async def notify(self, channel: str, conversation_ref: dict[str, Any], reply: Reply) -> None: ...


class NoFanout:
    async def refresh(self, view: ApprovalView, refs: list[MessageRef]) -> None:
        return None

    async def offer(self, view: ApprovalView, origin: str) -> None:
        return None

    async def notify(self, channel: str, conversation_ref: dict[str, Any], reply: Reply) -> None:
        return None


def new_reference() -> str:
    return secrets.token_hex(4).upper()
