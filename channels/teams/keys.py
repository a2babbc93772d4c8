"""Bot Framework token validation off the event loop, with a time-out, a remembered failure and key pre-fetch.

botbuilder validates tokens inside a coroutine that fetches the signing keys with a blocking
`requests.get` and no time-out: on the event loop, a slow key endpoint freezes every channel. Here each
validation runs on its own small thread pool (with a private event loop) and is abandoned after a
time-out; after a failure, requests are refused at once (503, the sender retries) until a back-off
passes, and keys are fetched ahead of time so a request rarely waits for them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import requests
from botframework.connector.auth import JwtTokenExtractor

from channels.coordination import Breaker

log = logging.getLogger(__name__)
T = TypeVar("T")


class KeysUnavailable(Exception):
    """The signing keys can't be fetched now; the request should be retried later (503)."""


class OffLoopAuthenticator:
    """Runs botbuilder's validation coroutines on a bounded pool of threads, never on the serving loop."""

    def __init__(self, timeout_s: float = 5.0, workers: int = 2, cool_s: float = 30.0) -> None:
        self._timeout = timeout_s
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bf-auth")
        self._breaker = Breaker(threshold=1, cool_s=cool_s)
        self._prefetch: asyncio.Task[None] | None = None
        self._keys_ok = True  # False while pre-fetching fails (readiness)

    @property
    def healthy(self) -> bool:
        return not self._breaker.open and self._keys_ok

    async def run(self, make: Callable[[], Awaitable[T]]) -> T:
        """Validate a request: refused at once while a recent failure is remembered."""
        if self._breaker.open:
            raise KeysUnavailable("the signing keys failed recently")
        try:
            result = await self._off_loop(make)
        except KeysUnavailable:
            self._breaker.failure()
            raise
        self._breaker.success()
        return result

    async def _off_loop(self, make: Callable[[], Awaitable[T]]) -> T:
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._pool, _run_coroutine, make)
        try:
            return await asyncio.wait_for(future, self._timeout)
        except TimeoutError:
            raise KeysUnavailable("fetching the signing keys timed out") from None
        except (requests.RequestException, ValueError, KeyError) as exc:
            # ValueError/KeyError: the key endpoint answered something that isn't OpenID metadata.
            raise KeysUnavailable(type(exc).__name__) from exc

    def start_prefetch(self, metadata_urls: Iterable[str], every_s: float = 6 * 3600) -> None:
        """Fetch the signing keys now and every `every_s` (with back-off after failures), off the loop."""
        urls = list(metadata_urls)
        if urls and self._prefetch is None:
            self._prefetch = asyncio.create_task(self._keep_fresh(urls, every_s))

    async def _keep_fresh(self, urls: list[str], every_s: float) -> None:
        delay = 1.0
        while True:
            try:
                for url in urls:
                    metadata = JwtTokenExtractor.get_open_id_metadata(url)
                    # botbuilder's own refresh (private, but it is the cache the validation reads).
                    await self._off_loop(metadata._refresh)
                delay, self._keys_ok = every_s, True
            except KeysUnavailable as exc:
                self._keys_ok = False
                log.warning("pre-fetching the Bot Framework signing keys failed (%s); retrying in %.0fs", exc, delay)
                delay = min(max(delay * 2, 1.0), 300.0)
            await asyncio.sleep(delay)

    async def close(self) -> None:
        if self._prefetch is not None:
            self._prefetch.cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)


def _run_coroutine(make: Callable[[], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        return await make()

    return asyncio.run(main())
