"""The turn runner every channel shares: lock the conversation → "busy" apology → identify → handle →
save the answer → deliver, with one error boundary and one reference-id format.

The inbox claim happens before the ack (in the channel's endpoint); the runner marks the delivery done
only once its reply was shown or the user was told it failed, so a process that dies in between leaves
it to the inbox's recovery pass, which calls `run` again (or `deliver_saved` when the answer exists).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import KW_ONLY, dataclass
from typing import Any, Protocol, TypeVar

from channels.base import InboundMessage, Reply, TurnHandler
from channels.context import answer_sink, new_reference_id
from channels.coordination import Coordinator, LockTimeout
from channels.core import wording
from channels.core.live import LiveAnswer
from channels.core.present import reply_from_data
from channels.inbox import Inbox

log = logging.getLogger(__name__)

T = TypeVar("T")
DELIVERY_ATTEMPTS = 3


class PlatformTurn(Protocol):
    """The platform half of one turn: where it came from, who sent it, how to answer."""

    key: str  # the inbox key of the delivery
    conversation_key: str  # one turn at a time per conversation
    settled: tuple[type[BaseException], ...]  # delivery errors the transport already retried where safe

    async def begin(self) -> None:
        """Cosmetic preparation before the lock (Slack's "Thinking…"); must not raise."""
        ...

    async def inbound(self) -> InboundMessage:
        """The neutral message, with the sender identified."""
        ...

    def live(self) -> LiveAnswer | None:
        """Where the answer is shown while it is produced (its pump started), or None. `deliver` and `tell`
        finish it before showing the reply."""
        ...

    async def deliver(self, reply: Reply) -> None: ...

    async def tell(self, text: str) -> None:
        """A short notice in the conversation (busy, apology)."""
        ...

    def saved(self) -> dict[str, Any]:
        """What recovery needs, besides the reply, to deliver it the same way (e.g. the placeholder)."""
        ...


@dataclass
class TurnRunner:
    """Runs turns against the `TurnHandler` for one channel."""

    handler: TurnHandler
    coordinator: Coordinator
    inbox: Inbox
    _: KW_ONLY
    channel: str
    lock_timeout_s: float = 120.0
    retry_pause_s: float = 0.5

    async def run(self, turn: PlatformTurn) -> None:
        """One turn, from the accepted delivery to the shown answer."""
        await self.inbox.checkpoint("turn.after_accept", turn.key)
        try:
            await turn.begin()
            async with self.coordinator.lock(turn.conversation_key, timeout_s=self.lock_timeout_s):
                await self.inbox.checkpoint("turn.after_lock", turn.key)
                live = turn.live()
                try:
                    with answer_sink(live.push if live is not None else None):
                        reply = await self.handler.handle(await turn.inbound())
                finally:
                    if live is not None:
                        live.close()
                await self.inbox.answered(turn.key, reply, turn.saved())
                await self.inbox.checkpoint("turn.after_answer", turn.key)
                await self.deliver(turn, reply)
        except LockTimeout:
            await self._tell(turn, wording.BUSY)
            await self.inbox.complete(turn.key)
        except Exception:
            reference = new_reference_id()
            log.exception(
                "%s turn failed (reference %s, conversation %s)", self.channel, reference, turn.conversation_key
            )
            await self._tell(turn, wording.APOLOGY.format(ref=reference))
            await self.inbox.complete(turn.key, ok=False)

    async def deliver_saved(self, turn: PlatformTurn, saved: Mapping[str, Any]) -> None:
        """Deliver an answer a dead process computed but could not show (recovery): never recomputed."""
        await self.deliver(turn, reply_from_data(saved["reply"]))

    async def deliver(self, turn: PlatformTurn, reply: Reply) -> None:
        """Show the reply. A transport error the platform client already retried (`turn.settled`) is final
        here; anything else is retried briefly. If it still fails, the user is told with a reference (never
        silence), and the saved answer stays unfinished in the inbox for the recovery pass to deliver."""
        for attempt in range(DELIVERY_ATTEMPTS):
            try:
                await turn.deliver(reply)
            except Exception as exc:
                if isinstance(exc, turn.settled) or attempt + 1 == DELIVERY_ATTEMPTS:
                    reference = new_reference_id()
                    log.warning(
                        "could not deliver the answer to %s (reference %s); recovery will retry",
                        turn.key,
                        reference,
                        exc_info=True,
                    )
                    await self._tell(turn, wording.APOLOGY.format(ref=reference))
                    return
                await asyncio.sleep(self.retry_pause_s * 2**attempt)
            else:
                await self.inbox.complete(turn.key)
                return

    async def identify(self, address: str | None) -> str | None:
        """The directory identity of a platform user's e-mail; None when unknown or the look-up failed
        (the user is answered without personal tools, and the core refuses their approval clicks)."""
        if not address:
            return None
        try:
            return await self.handler.identify(address)
        except Exception:
            log.warning("%s: directory look-up failed (reference %s)", self.channel, new_reference_id(), exc_info=True)
            return None

    async def guard(self, what: str, work: Awaitable[T], apologise: Callable[[str], Awaitable[object]]) -> T | None:
        """The error boundary of work outside a turn (a click): log once with a reference id, and tell the
        user only that id (`apologise` gets the text). None when the work failed."""
        try:
            return await work
        except Exception:
            reference = new_reference_id()
            log.exception("%s %s failed (reference %s)", self.channel, what, reference)
            try:
                await apologise(wording.CLICK_FAILED.format(ref=reference))
            except Exception:
                log.warning("could not send the apology for reference %s", reference, exc_info=True)
            return None

    async def _tell(self, turn: PlatformTurn, text: str) -> None:
        try:
            await turn.tell(text)
        except Exception as exc:
            log.warning("could not tell the user in %s: %s", turn.conversation_key, type(exc).__name__)
