"""Trace spans without a tracing library: every layer opens spans here; `bot.otel` plugs in OpenTelemetry.

Off (the default) `span()` hands back one shared do-nothing context manager (and the graph's nodes are
not wrapped at all), so untraced processes pay a global read per span and import nothing. It sits in
`tools/`, the lowest layer, so tools, graphs and channels can all open spans without importing `bot/`.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Protocol

Attribute = str | bool | int | float


class Tracer(Protocol):
    """What `bot.otel` installs: opens a span as the current one (closing it records its outcome)."""

    def span(self, name: str, kind: str, attributes: Mapping[str, Attribute]) -> AbstractContextManager[Any]: ...

    def set_attributes(self, attributes: Mapping[str, Attribute]) -> None: ...


_NOTHING: AbstractContextManager[None] = nullcontext()
_tracer: Tracer | None = None


def install(tracer: Tracer | None) -> None:
    """Switch spans on (a tracer) or off (None) for this process. Called once at start-up by `bot/`."""
    global _tracer
    _tracer = tracer


def enabled() -> bool:
    return _tracer is not None


def span(name: str, kind: str = "internal", **attributes: Attribute | None) -> AbstractContextManager[Any]:
    """`with span("tool create_user", tool="create_user"):` — a child of the current span. Attribute
    names get the `deskhand.` prefix unless they are dotted already (`**{"http.route": r}`); None values
    are left out. Never put message text or personal data in attributes."""
    tracer = _tracer
    if tracer is None:
        return _NOTHING
    return tracer.span(name, kind, _named(attributes))


def annotate(**attributes: Attribute | None) -> None:
    """Add attributes to the current span (e.g. a turn's route once it is known)."""
    tracer = _tracer
    if tracer is not None:
        tracer.set_attributes(_named(attributes))


def _named(attributes: Mapping[str, Attribute | None]) -> dict[str, Attribute]:
    return {(k if "." in k else f"deskhand.{k}"): v for k, v in attributes.items() if v is not None}
