"""Opening tickets for hand-offs: the `Ticketing` port and an adapter that POSTs JSON to an HTTP webhook."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import aiohttp
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

log = logging.getLogger(__name__)

MAX_ID_CHARS = 100


@dataclass(frozen=True)
class TicketRequest:
    """What the ticket says: who asked what, where, and Deskhand's own reference for it."""

    reference: str  # the hand-off id; also sent as the Idempotency-Key
    team: str
    requester: str  # e-mail, or "" when the requester is not in the directory
    requester_name: str
    question: str
    channel: str  # slack | teams | local
    link: str | None = None  # back to the conversation, when the team can open it


@dataclass(frozen=True)
class Ticket:
    id: str
    url: str | None = None


class TicketingError(Exception):
    """The ticket could not be opened (after retries); the message never carries the response body."""


class Ticketing(Protocol):
    async def open(self, endpoint: str, request: TicketRequest) -> Ticket:
        """Open a ticket at `endpoint` (the team's webhook); raise `TicketingError` when that fails."""
        ...


class _Retryable(Exception):
    """A failure after which trying again may work: no answer, a time-out, 429 or 5xx."""


class WebhookTicketing:
    """POSTs the request as JSON; expects a 2xx with `{"id": …}` (and optionally `"url"`).

    A retry after a lost answer could open a second ticket, so every attempt carries the same
    `Idempotency-Key` (the hand-off reference) for receivers that honour it."""

    def __init__(
        self,
        *,
        token: str | None = None,
        timeout_s: float = 10.0,
        attempts: int = 3,
        backoff_s: float = 0.5,
        max_backoff_s: float = 8.0,
    ) -> None:
        self._token = token
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._attempts = attempts
        self._backoff = backoff_s
        self._max_backoff = max_backoff_s
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def open(self, endpoint: str, request: TicketRequest) -> Ticket:
        retrying = AsyncRetrying(
            retry=retry_if_exception(lambda e: isinstance(e, _Retryable)),
            stop=stop_after_attempt(self._attempts),
            wait=wait_exponential(multiplier=self._backoff, max=self._max_backoff),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._post(endpoint, request)
        except _Retryable as exc:
            raise TicketingError(f"the ticket webhook failed {self._attempts} times ({exc})") from None
        raise AssertionError("unreachable: tenacity re-raises the last error")

    async def _post(self, endpoint: str, request: TicketRequest) -> Ticket:
        headers = {"Idempotency-Key": request.reference, "Accept": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        body: dict[str, Any] = {"source": "deskhand", **asdict(request)}
        try:
            async with self._client().post(endpoint, json=body, headers=headers) as response:
                if response.status == 429 or response.status >= 500:
                    raise _Retryable(f"HTTP {response.status}")
                if response.status >= 300:
                    raise TicketingError(f"the ticket webhook refused the request (HTTP {response.status})")
                try:
                    data = await response.json(content_type=None)
                except ValueError:
                    data = None
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _Retryable(type(exc).__name__) from None
        return _ticket(data, request.reference)


def _ticket(data: Any, reference: str) -> Ticket:
    """The receiver's ticket id (and link); a receiver that answers without one gets our reference."""
    if not isinstance(data, dict):
        log.warning("ticket webhook answered without a JSON object; using reference %s", reference)
        return Ticket(id=reference)
    raw_id, url = data.get("id"), data.get("url")
    ticket_id = str(raw_id)[:MAX_ID_CHARS] if isinstance(raw_id, str | int) and str(raw_id) else reference
    return Ticket(id=ticket_id, url=url if isinstance(url, str) and url.startswith(("http://", "https://")) else None)
