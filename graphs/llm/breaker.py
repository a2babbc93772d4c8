"""A per-provider circuit breaker: opens after N consecutive failed calls, lets one probe through after
the reset time (half-open), closes on the probe's success.

Written here rather than taken from a library: the maintained asyncio breakers (aiobreaker, purgatory)
wrap the call themselves, while ours must count one logical call (retries included) and expose its state
for `deskhand llm check`; the whole state machine is these forty lines."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"


@dataclass
class CircuitBreaker:
    failures_to_open: int = 5
    reset_s: float = 30.0
    clock: Callable[[], float] = time.monotonic
    state: str = CLOSED
    failures: int = 0
    opened_at: float = 0.0
    _probing: bool = field(default=False, repr=False)

    def allow(self) -> bool:
        """May a call go out now? In half-open state only one probe at a time."""
        if self.state == OPEN and self.clock() - self.opened_at >= self.reset_s:
            self.state, self._probing = HALF_OPEN, False
        if self.state == OPEN:
            return False
        if self.state == HALF_OPEN:
            if self._probing:
                return False
            self._probing = True
        return True

    def success(self) -> None:
        self.state, self.failures, self._probing = CLOSED, 0, False

    def failure(self) -> None:
        self.failures += 1
        if self.state == HALF_OPEN or self.failures >= self.failures_to_open:
            self.state, self.opened_at, self._probing = OPEN, self.clock(), False


@dataclass
class Breakers:
    """One breaker per provider, owned by the runtime."""

    failures_to_open: int = 5
    reset_s: float = 30.0
    clock: Callable[[], float] = time.monotonic
    by_provider: dict[str, CircuitBreaker] = field(default_factory=dict)

    def get(self, provider: str) -> CircuitBreaker:
        if provider not in self.by_provider:
            self.by_provider[provider] = CircuitBreaker(self.failures_to_open, self.reset_s, self.clock)
        return self.by_provider[provider]
