"""One SCIM call, done right: typed errors for scim2-client failures, and retries with backoff + jitter."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from scim2_client import RequestNetworkException, SCIMClientException
from scim2_models import PatchOp, SCIMException
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from tools.directory_types import Conflict, DirectoryError, DirectoryUnavailable, NotFound
from tools.tracing import annotate, span

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try before telling the user the directory is unavailable."""

    attempts: int = 3
    initial_wait_s: float = 0.2
    max_wait_s: float = 2.0
    timeout_s: float = 5.0  # per HTTP request


class Transient(Exception):
    """A failure worth retrying: timeout, connection error, 5xx or 429."""


def status_of(exc: Exception) -> int | None:
    """The HTTP status behind a scim2-models error (`status`) or a scim2-client one (`source`)."""
    status = getattr(exc, "status", None)
    if status is None:
        status = getattr(getattr(exc, "source", None), "status_code", None)
    try:
        return int(status) if status is not None else None
    except (TypeError, ValueError):
        return None


async def scim_call(pending: Awaitable[Any]) -> Any:
    """Await one SCIM request; raise `Transient` or a typed `DirectoryError` instead of library errors."""
    with span("scim request", "client"):
        return await _scim_call(pending)


async def _scim_call(pending: Awaitable[Any]) -> Any:
    try:
        return await pending
    except RequestNetworkException as exc:
        raise Transient("network error or timeout") from exc
    except (SCIMException, SCIMClientException) as exc:
        status = status_of(exc)
        if status is not None and (status >= 500 or status == 429):
            raise Transient(f"HTTP {status}") from exc
        if status == 404:
            raise NotFound("The directory has no such entry (it may have just been removed).") from exc
        if status == 409:
            raise Conflict("The directory refused the change because it clashes with existing data.") from exc
        if status in (401, 403):
            raise DirectoryError(
                "The directory refused Deskhand's credentials; an administrator needs to check the SCIM token."
            ) from exc
        log.warning("unexpected directory answer (HTTP %s): %s", status, type(exc).__name__)
        raise DirectoryError("The directory gave an answer Deskhand could not understand.") from exc


async def with_retries(op: Callable[[], Awaitable[T]], what: str, policy: RetryPolicy) -> T:
    """Run `op`, retrying `Transient` failures; then give up with `DirectoryUnavailable`.

    The whole operation is retried, not a single request, so a write re-checks the directory first
    and a retry after a lost response never acts twice.
    """
    retrying = AsyncRetrying(
        stop=stop_after_attempt(policy.attempts),
        wait=wait_exponential_jitter(initial=policy.initial_wait_s, max=policy.max_wait_s),
        retry=retry_if_exception_type(Transient),
        reraise=True,
    )
    with span(f"scim {what}", operation=what, timeout_s=policy.timeout_s, attempts=policy.attempts):
        return await _retried(retrying, op, what, policy)


async def _retried(retrying: AsyncRetrying, op: Callable[[], Awaitable[T]], what: str, policy: RetryPolicy) -> T:
    try:
        async for attempt in retrying:
            with attempt:
                annotate(attempt=attempt.retry_state.attempt_number)
                return await op()
    except Transient as exc:
        log.warning("directory unavailable while %s after %d attempts: %s", what, policy.attempts, exc)
        raise DirectoryUnavailable(
            f"The directory is not responding right now (tried {policy.attempts} times while {what}). "
            "Please try again in a few minutes; trying again is safe."
        ) from None
    raise AssertionError("unreachable")  # pragma: no cover


def filter_literal(value: str) -> str:
    """A SCIM filter string literal (JSON string syntax), so user text can never alter the filter."""
    return json.dumps(value)


def patch_op(model: Any, operation: dict[str, Any]) -> Any:
    """A one-operation PATCH request body (RFC 7644 §3.5.2) for resources of `model`."""
    return PatchOp[model].model_validate({"Operations": [operation]})
