"""Coordination contract, run against real Redis and the in-process variant."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from channels.coordination import (
    CoordinationUnavailable,
    Coordinator,
    InProcessCoordinator,
    LockTimeout,
    build_coordinator,
    new_namespace,
    redact_url,
)

REDIS_URL = os.environ.get("DESKHAND_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


async def wait_for(condition: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        await asyncio.sleep(0.05)


@pytest.fixture(params=["memory", "redis"])
async def coordinator(request: pytest.FixtureRequest) -> AsyncIterator[Coordinator]:
    coord = (
        InProcessCoordinator()
        if request.param == "memory"
        else build_coordinator(REDIS_URL, namespace=new_namespace("test"))
    )
    yield coord
    await coord.close()


async def test_claim_is_true_only_the_first_time(coordinator: Coordinator) -> None:
    assert await coordinator.claim("event:Ev1") is True
    assert await coordinator.claim("event:Ev1") is False
    assert await coordinator.claim("event:Ev2") is True


async def test_concurrent_claims_have_one_winner(coordinator: Coordinator) -> None:
    results = await asyncio.gather(*(coordinator.claim("event:race") for _ in range(30)))
    assert results.count(True) == 1


async def test_a_burst_of_claims_beyond_the_pool_size_all_succeed(coordinator: Coordinator) -> None:
    results = await asyncio.gather(*(coordinator.claim(f"event:burst{i}") for i in range(400)))
    assert results == [True] * 400


async def test_claim_expires_after_its_ttl(coordinator: Coordinator) -> None:
    assert await coordinator.claim("event:short", ttl_s=1) is True
    assert await coordinator.claim("event:short", ttl_s=1) is False

    async def claimable_again() -> bool:
        return await coordinator.claim("event:short", ttl_s=1)

    await wait_for(claimable_again, timeout=4)


async def test_lock_serialises_turns_in_arrival_order(coordinator: Coordinator) -> None:
    inside = 0
    max_inside = 0
    order: list[int] = []

    async def turn(i: int) -> None:
        nonlocal inside, max_inside
        async with coordinator.lock("slack:T1:C1:1.0"):
            inside += 1
            max_inside = max(max_inside, inside)
            order.append(i)
            await asyncio.sleep(0.01)  # yield to let the others try to enter
            inside -= 1

    tasks = []
    for i in range(6):
        tasks.append(asyncio.create_task(turn(i)))
        await asyncio.sleep(0)  # start them in order
    await asyncio.gather(*tasks)
    assert max_inside == 1
    assert order == list(range(6))


async def test_locks_on_different_keys_do_not_block_each_other(coordinator: Coordinator) -> None:
    async with coordinator.lock("conv:a"), coordinator.lock("conv:b", timeout_s=1):
        pass


async def test_lock_wait_gives_up_with_lock_timeout(coordinator: Coordinator) -> None:
    async with coordinator.lock("conv:busy"):
        with pytest.raises(LockTimeout):
            async with coordinator.lock("conv:busy", timeout_s=0.2):
                pass
    async with coordinator.lock("conv:busy", timeout_s=1):  # released after the holder leaves
        pass


async def test_lock_is_released_when_the_body_raises(coordinator: Coordinator) -> None:
    with pytest.raises(RuntimeError):
        async with coordinator.lock("conv:err"):
            raise RuntimeError("boom")
    async with coordinator.lock("conv:err", timeout_s=1):
        pass


async def test_remember_and_recall(coordinator: Coordinator) -> None:
    assert await coordinator.recall("user:U1") is None
    await coordinator.remember("user:U1", "alice.nguyen@example.com", ttl_s=60)
    assert await coordinator.recall("user:U1") == "alice.nguyen@example.com"
    await coordinator.remember("user:U2", "x", ttl_s=1)

    async def gone() -> bool:
        return await coordinator.recall("user:U2") is None

    await wait_for(gone, timeout=4)


async def test_ping_succeeds_when_up(coordinator: Coordinator) -> None:
    await coordinator.ping()


async def test_two_redis_coordinators_share_claims_and_locks() -> None:
    ns = new_namespace("test")
    first = build_coordinator(REDIS_URL, namespace=ns)
    second = build_coordinator(REDIS_URL, namespace=ns)
    try:
        results = await asyncio.gather(*(c.claim("event:shared") for c in (first, second) for _ in range(10)))
        assert results.count(True) == 1

        inside = 0
        max_inside = 0

        async def turn(coord: Coordinator) -> None:
            nonlocal inside, max_inside
            async with coord.lock("conv:shared", timeout_s=10):
                inside += 1
                max_inside = max(max_inside, inside)
                await asyncio.sleep(0.02)
                inside -= 1

        await asyncio.gather(*(turn(c) for c in (first, second, first, second)))
        assert max_inside == 1
        await first.remember("k", "v", ttl_s=60)
        assert await second.recall("k") == "v"
    finally:
        await first.close()
        await second.close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_build_coordinator_reports_redis_down_clearly() -> None:
    url = f"redis://:s3cret@127.0.0.1:{_closed_port()}/0"
    with pytest.raises(CoordinationUnavailable) as info:
        build_coordinator(url, connect_timeout_s=0.5)
    message = str(info.value)
    assert "Cannot reach Redis" in message and "REDIS_URL" in message
    assert "s3cret" not in message


def test_build_coordinator_without_url_is_in_process() -> None:
    assert isinstance(build_coordinator(None), InProcessCoordinator)


def test_redact_url_hides_only_the_password() -> None:
    assert redact_url("redis://user:pw@host:6380/2") == "redis://user:***@host:6380/2"
    assert redact_url("redis://127.0.0.1:6379/15") == "redis://127.0.0.1:6379/15"
