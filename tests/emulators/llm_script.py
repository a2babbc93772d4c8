"""Scripted replies, injectable failures and request recording shared by the model-API emulators."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ToolCall:
    name: str
    args: dict[str, Any] | None = None
    raw_arguments: str | None = None  # sent verbatim (e.g. invalid JSON) instead of json.dumps(args)

    def arguments(self) -> str:
        return self.raw_arguments if self.raw_arguments is not None else json.dumps(self.args or {})


@dataclass
class Script:
    """One reply, or one failure: status 500/429/529 (with Retry-After), a delay past the client's
    time-out, or a stream cut off half-way (`truncate`)."""

    content: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    status: int = 200
    retry_after: float | None = None
    delay: float = 0.0
    truncate: bool = False
    body: str | None = None  # a raw body for the failure (default: the provider's error shape)
    # A streamed reply pauses after `hold_at` characters until the test sets `hold` (a slow model).
    hold: asyncio.Event | None = None
    hold_at: int = 0


Responder = Callable[[dict[str, Any]], Script]


@dataclass
class Recorded:
    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    status: int = 200
    at: float = field(default_factory=time.monotonic)


def words(n_chars: int) -> int:
    """A rough token count (about four characters a token), enough for usage fields."""
    return max(1, n_chars // 4)


class ScriptBook:
    """A queue of scripts, consumed one per request; when empty, `responder` (or an empty reply) answers."""

    def __init__(self, responder: Responder | None = None) -> None:
        self.queue: deque[Script] = deque()
        self.responder = responder
        self.requests: list[Recorded] = []
        self._ids = itertools.count(1)

    def push(self, *scripts: Script) -> None:
        self.queue.extend(scripts)

    def fail(self, status: int, times: int = 1, retry_after: float | None = None) -> None:
        self.push(*[Script(status=status, retry_after=retry_after) for _ in range(times)])

    def next_id(self) -> int:
        return next(self._ids)

    def take(self, body: dict[str, Any]) -> Script:
        if self.queue:
            return self.queue.popleft()
        if self.responder is not None:
            return self.responder(body)
        return Script(content="")

    def sent_text(self) -> str:
        """Every request body as JSON text, for checks on what left the process."""
        return "\n".join(json.dumps(r.body, ensure_ascii=False) for r in self.requests)

    def clear(self) -> None:
        self.queue.clear()
        self.requests.clear()
