"""Who is asking: directory identities and whether their account is active, cached briefly and boundedly."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Identity:
    email: str | None  # the canonical directory e-mail; None when no one in the directory has it
    active: bool  # False for a deactivated (offboarded) account


UNKNOWN = Identity(None, False)


class IdentityCache:
    """Resolves e-mails to identities, reusing an answer for at most `ttl_s` seconds.

    A deactivation through this process's directory drops every entry at once (`changes()` moves); one made
    by another process sharing the directory is seen within `ttl_s`. At most `max_entries` are kept.
    """

    def __init__(
        self,
        lookup: Callable[[str], Awaitable[Any]],
        *,
        ttl_s: float,
        changes: Callable[[], int] = lambda: 0,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
        lookup_timeout_s: float = 2.0,
    ) -> None:
        self._lookup, self._ttl_s, self._changes = lookup, ttl_s, changes
        self._max, self._clock = max_entries, clock
        self._timeout_s = lookup_timeout_s  # a hung directory must not hold a turn (knowledge answers go on)
        self._entries: OrderedDict[str, tuple[Identity, float, int]] = OrderedDict()

    async def get(self, email: str) -> Identity:
        key = email.strip().lower()
        if not key:
            return UNKNOWN
        now, generation = self._clock(), self._changes()
        hit = self._entries.get(key)
        if hit is not None and hit[2] == generation and now - hit[1] < self._ttl_s:
            self._entries.move_to_end(key)
            return hit[0]
        try:
            person = await asyncio.wait_for(self._lookup(key), self._timeout_s)
        except Exception as exc:
            # The directory is down or hung: knowledge answers must not depend on it. Keep the last known
            # state (a deactivated person stays refused), else treat the sender as unknown, which gets
            # handbook answers only (tools and approvals need a directory identity). Not cached.
            log.warning("directory look-up failed (%s); using the last known identity", type(exc).__name__)
            fallback = hit[0] if hit is not None else UNKNOWN
            # Remembered like a look-up (for the TTL), so an outage costs one time-out, not one per turn.
            self._entries[key] = (fallback, now, generation)
            return fallback
        found = Identity(person.email.lower(), bool(person.active)) if person is not None else UNKNOWN
        self._entries[key] = (found, now, generation)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
        return found

    def forget(self, email: str | None = None) -> None:
        """Drop one e-mail (or everything) so the next look-up asks the directory."""
        if email is None:
            self._entries.clear()
        else:
            self._entries.pop(email.strip().lower(), None)
