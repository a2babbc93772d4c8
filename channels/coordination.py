"""Cross-process coordination for channels: exactly-once claims, per-conversation locks, a small cache.

Redis-backed when a URL is given (safe with several server processes), in-process otherwise (one
process only). Channels use `claim` before doing any work for a delivered event, so a retried or
duplicated delivery is acknowledged and dropped; `lock` keeps one turn at a time per conversation.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit, urlunsplit

import redis
import redis.asyncio as aioredis
from redis.asyncio.lock import Lock as RedisLock
from redis.exceptions import LockError

log = logging.getLogger(__name__)

DEFAULT_NAMESPACE = "deskhand"
# A Redis conversation lock lives this long unless its holder renews it (every third of it, while it runs,
# up to the lock's `timeout_s`): a holder killed mid-turn frees the conversation within these seconds, not
# after the whole `timeout_s` (120 s), which held recovery and Slack's retries of that turn up as long.
HOLD_TTL_S = 10.0
T = TypeVar("T")


class CoordinationError(Exception):
    """Base class for coordination failures."""


class CoordinationUnavailable(CoordinationError):
    """The coordination store (Redis) cannot be reached."""


class LockTimeout(CoordinationError):
    """A conversation lock could not be acquired in time (another turn is still running)."""


class Coordinator(Protocol):
    """What channels need to stay correct when events are redelivered or handled by several processes."""

    async def claim(self, key: str, ttl_s: int = 86400) -> bool:
        """True only the first time `key` is claimed within `ttl_s` seconds."""
        ...

    def lock(self, key: str, timeout_s: float = 120.0) -> AbstractAsyncContextManager[None]:
        """Hold `key` exclusively: waits at most `timeout_s` (then `LockTimeout`). A live holder keeps it
        for up to `timeout_s`; one that dies releases it within a short hold time (Redis: `HOLD_TTL_S`,
        renewed while held), so work recovered from a dead process is not held up. Waiters in one process
        enter in arrival order."""
        ...

    async def ping(self) -> None:
        """Raise `CoordinationUnavailable` when the store is down (for readiness checks)."""
        ...

    async def remember(self, key: str, value: str, ttl_s: int) -> None:
        """Store a small value for `ttl_s` seconds (caches, thread membership)."""
        ...

    async def recall(self, key: str) -> str | None:
        """The value stored under `key`, or None when absent or expired."""
        ...

    async def close(self) -> None: ...


@dataclass
class Breaker:
    """Skip a dependency for `cool_s` after `threshold` failures in a row, so a hung one costs a request
    nothing instead of a time-out (twenty lines; a breaker library would be one more dependency)."""

    threshold: int = 3
    cool_s: float = 10.0
    _failures: int = 0
    _open_until: float = 0.0

    @property
    def open(self) -> bool:
        return time.monotonic() < self._open_until

    def success(self) -> None:
        self._failures, self._open_until = 0, 0.0

    def failure(self) -> None:
        self._failures += 1
        if self._failures >= self.threshold:
            self._open_until = time.monotonic() + self.cool_s


class _KeyedLocks:
    """In-process FIFO locks per key, dropped when nobody holds or waits for them."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str, timeout_s: float) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            try:
                await asyncio.wait_for(lock.acquire(), timeout_s)
            except TimeoutError as exc:
                raise LockTimeout(f"conversation {key!r} is busy") from exc
            try:
                yield
            finally:
                lock.release()
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class InProcessCoordinator:
    """Coordination for a single process: dicts with expiry times and asyncio locks."""

    def __init__(self) -> None:
        self._claims: dict[str, float] = {}
        self._values: dict[str, tuple[str, float]] = {}
        self._locks = _KeyedLocks()

    async def claim(self, key: str, ttl_s: int = 86400) -> bool:
        now = time.monotonic()
        self._evict(now)
        expires = self._claims.get(key)
        if expires is not None and expires > now:
            return False
        self._claims[key] = now + ttl_s
        return True

    def lock(self, key: str, timeout_s: float = 120.0) -> AbstractAsyncContextManager[None]:
        return self._locks.hold(key, timeout_s)

    async def ping(self) -> None:
        return None

    async def remember(self, key: str, value: str, ttl_s: int) -> None:
        now = time.monotonic()
        if len(self._values) > 10_000:
            self._values = {k: entry for k, entry in self._values.items() if entry[1] > now}
        self._values[key] = (value, now + ttl_s)

    async def recall(self, key: str) -> str | None:
        entry = self._values.get(key)
        if entry is None or entry[1] <= time.monotonic():
            self._values.pop(key, None)
            return None
        return entry[0]

    async def close(self) -> None:
        return None

    def _evict(self, now: float) -> None:
        # Amortised clean-up: only when the dict has grown, so claims stay O(1) on average.
        if len(self._claims) > 10_000:
            self._claims = {k: exp for k, exp in self._claims.items() if exp > now}


class RedisCoordinator:
    """Coordination shared by every process using the same Redis (SET NX EX claims, token locks).

    Every command has a short socket time-out (set on the pool) and goes through a breaker: with Redis
    down or hung, calls fail at once instead of each waiting for a time-out; locks fall back to this
    process's own lock (correct for one process) so turns keep running.
    """

    def __init__(
        self,
        client: aioredis.Redis,
        namespace: str = DEFAULT_NAMESPACE,
        breaker: Breaker | None = None,
        hold_ttl_s: float = HOLD_TTL_S,
    ) -> None:
        self._redis = client
        self._ns = namespace
        self._hold_ttl_s = hold_ttl_s
        self._local = _KeyedLocks()  # FIFO within the process before competing across processes
        self._breaker = breaker or Breaker()

    async def _run(self, command: Awaitable[T], what: str) -> T:
        if self._breaker.open:
            _close_unawaited(command)
            raise CoordinationUnavailable(f"Redis is unavailable: cannot {what}")
        try:
            result = await command
        except (redis.RedisError, OSError) as exc:
            self._breaker.failure()
            raise CoordinationUnavailable(f"Redis is unreachable: cannot {what}") from exc
        self._breaker.success()
        return result

    async def claim(self, key: str, ttl_s: int = 86400) -> bool:
        created = await self._run(
            self._redis.set(f"{self._ns}:claim:{key}", "1", nx=True, ex=ttl_s), "deduplicate events"
        )
        return bool(created)

    def lock(self, key: str, timeout_s: float = 120.0) -> AbstractAsyncContextManager[None]:
        return self._hold(key, timeout_s)

    @asynccontextmanager
    async def _hold(self, key: str, timeout_s: float) -> AsyncIterator[None]:
        started = time.monotonic()
        async with self._local.hold(key, timeout_s):
            remaining = max(0.01, timeout_s - (time.monotonic() - started))
            lock = RedisLock(
                self._redis,
                f"{self._ns}:lock:{key}",
                timeout=min(self._hold_ttl_s, timeout_s),
                sleep=0.02,
                blocking_timeout=remaining,
                thread_local=False,
            )
            try:
                acquired = await self._run(lock.acquire(), "lock the conversation")
            except CoordinationUnavailable:
                # Degraded: this process's own lock still orders its turns; other processes can't see it.
                log.warning("Redis unavailable: conversation %s locked in this process only", key)
                yield
                return
            if not acquired:
                raise LockTimeout(f"conversation {key!r} is busy")
            renewing = asyncio.create_task(self._renew(lock, key, time.monotonic() + timeout_s))
            try:
                yield
            finally:
                renewing.cancel()
                try:
                    await lock.release()
                except LockError:
                    log.warning("lock %s expired before release (turn longer than %ss)", key, timeout_s)
                except (redis.RedisError, OSError):
                    log.warning("could not release lock %s; it lapses within %ss", key, self._hold_ttl_s)

    async def _renew(self, lock: RedisLock, key: str, until: float) -> None:
        """Keep a held lock alive while its holder runs, up to `until` (the lock's `timeout_s`): then it
        lapses by itself, as a turn longer than that gives the conversation up."""
        every = (lock.timeout or self._hold_ttl_s) / 3
        while time.monotonic() + every < until:
            await asyncio.sleep(every)
            try:
                await self._run(lock.reacquire(), "renew the conversation lock")
            except LockError:
                log.warning("lock %s was lost while held (Redis restarted or flushed?)", key)
                return
            except CoordinationUnavailable:
                log.warning("could not renew lock %s; it lapses unless Redis answers again", key)

    async def ping(self) -> None:
        await self._run(self._redis.ping(), "answer a ping")  # type: ignore[arg-type]

    async def remember(self, key: str, value: str, ttl_s: int) -> None:
        try:
            await self._run(self._redis.set(f"{self._ns}:kv:{key}", value, ex=ttl_s), "cache")
        except CoordinationUnavailable:
            log.warning("could not cache %s in Redis", key)

    async def recall(self, key: str) -> str | None:
        try:
            value = await self._run(self._redis.get(f"{self._ns}:kv:{key}"), "read the cache")
        except CoordinationUnavailable:
            log.warning("could not read %s from Redis", key)
            return None
        return value.decode() if isinstance(value, bytes) else value

    async def close(self) -> None:
        await self._redis.aclose()  # type: ignore[attr-defined]  # stubs predate redis 5


def _close_unawaited(command: Awaitable[Any]) -> None:
    close = getattr(command, "close", None)
    if close is not None:
        close()  # a coroutine we decided not to await: no "never awaited" warning


def redact_url(url: str) -> str:
    """The URL without its password, for error messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))


def build_coordinator(
    redis_url: str | None,
    *,
    namespace: str = DEFAULT_NAMESPACE,
    connect_timeout_s: float = 2.0,
    command_timeout_s: float = 1.0,
    pool_wait_s: float = 5.0,
    max_connections: int = 50,
    hold_ttl_s: float = HOLD_TTL_S,
) -> Coordinator:
    """Redis-backed coordination when `redis_url` is set (checked now: `CoordinationUnavailable` when
    down), in-process otherwise. `hold_ttl_s`: how soon a dead holder's conversation lock lapses."""
    if not redis_url:
        return InProcessCoordinator()
    probe = redis.Redis.from_url(redis_url, socket_connect_timeout=connect_timeout_s, socket_timeout=connect_timeout_s)
    try:
        probe.ping()
    except redis.RedisError as exc:
        raise CoordinationUnavailable(
            f"Cannot reach Redis at {redact_url(redis_url)} (REDIS_URL). Start Redis or fix REDIS_URL; "
            "unset it to run a single process without Redis."
        ) from exc
    finally:
        probe.close()
    # A blocking pool: under a burst, commands wait for a free connection instead of failing
    # (the default pool raises MaxConnectionsError past 100 concurrent commands).
    pool: aioredis.BlockingConnectionPool = aioredis.BlockingConnectionPool.from_url(
        redis_url,
        max_connections=max_connections,
        # A burst waits for a free connection (up to pool_wait_s); a hung Redis is caught by the socket
        # time-out, well inside Slack's 3 s, and then skipped by the breaker.
        timeout=pool_wait_s,
        socket_connect_timeout=connect_timeout_s,
        socket_timeout=command_timeout_s,
        health_check_interval=30,
    )
    return RedisCoordinator(aioredis.Redis(connection_pool=pool), namespace=namespace, hold_ttl_s=hold_ttl_s)


def new_namespace(prefix: str = DEFAULT_NAMESPACE) -> str:
    """A unique namespace (tests and benchmarks sharing one Redis database)."""
    return f"{prefix}:{uuid.uuid4().hex[:12]}"
