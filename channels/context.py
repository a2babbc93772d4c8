"""The request id of the work in progress, carried through channels, the agent, jobs and logs by contextvars.

A contextvar (not a parameter) because the id must reach every log line and audit entry of a turn without
threading it through each call; asyncio copies the context into tasks, so a turn spawned after the ack
keeps the id of the HTTP request (or job) that started it.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# Where the answer goes while it is produced: `sink(text, reset)` appends `text` to what the user sees, or,
# with `reset`, replaces all of it. Set by a channel that shows answers live (channels.core.live); unset
# (None) for callers that only want the finished reply (CLI, evals), which then run exactly as before.
AnswerSink = Callable[[str, bool], None]
_REQUEST_ID: ContextVar[str | None] = ContextVar("deskhand_request_id", default=None)
_ANSWER_SINK: ContextVar[AnswerSink | None] = ContextVar("deskhand_answer_sink", default=None)
_SAFE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def new_request_id() -> str:
    return secrets.token_hex(8)


def new_reference_id() -> str:
    """The one reference-id format users see (8 upper-case hex digits), logged with the error it names."""
    return secrets.token_hex(4).upper()


def current_request_id() -> str | None:
    return _REQUEST_ID.get()


def accept_request_id(candidate: str | None) -> str:
    """A caller-supplied id (e.g. a proxy's X-Request-Id) when it is short and plain, else a new one."""
    return candidate if candidate and _SAFE.match(candidate) else new_request_id()


@contextmanager
def request_scope(request_id: str | None = None) -> Iterator[str]:
    """Run the block with `request_id` (or a new one) as the current request id."""
    rid = request_id or new_request_id()
    token = _REQUEST_ID.set(rid)
    try:
        yield rid
    finally:
        _REQUEST_ID.reset(token)


def current_answer_sink() -> AnswerSink | None:
    return _ANSWER_SINK.get()


@contextmanager
def answer_sink(sink: AnswerSink | None) -> Iterator[None]:
    """Run the block with `sink` receiving the answer as it is produced (None: nobody is listening)."""
    token = _ANSWER_SINK.set(sink)
    try:
        yield
    finally:
        _ANSWER_SINK.reset(token)
