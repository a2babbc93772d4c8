"""SCIM failures become clear, typed errors: 5xx and timeouts are retried (then reported), 401/404/409."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from datetime import date

import pytest
from scim2_models import EnterpriseUser, User

from tests.tools.conftest import FlakyProxy
from tools.directory import Directory
from tools.directory_types import Conflict, DirectoryError, DirectoryUnavailable
from tools.scim_calls import RetryPolicy, scim_call

START = date(2026, 12, 1)


async def test_transient_503s_are_retried_then_succeed(
    flaky_proxy: FlakyProxy, directory_factory: Callable[..., Directory]
) -> None:
    directory = directory_factory(flaky_proxy.url)
    flaky_proxy.fail_next = 2
    person = await directory.get("alice.nguyen@example.com")
    assert person is not None and person.email == "alice.nguyen@example.com"
    lookups = [path for _, path in flaky_proxy.seen if "filter=" in path]
    assert len(lookups) == 3 and lookups[0] == lookups[2]  # two 503s, then the same request got through


async def test_scim_500_error_bodies_are_retried(
    flaky_proxy: FlakyProxy, directory_factory: Callable[..., Directory]
) -> None:
    directory = directory_factory(flaky_proxy.url)
    flaky_proxy.scim_500_next = 1
    assert await directory.get("noah.schmidt@example.com") is not None
    assert len([path for _, path in flaky_proxy.seen if "filter=" in path]) == 2


async def test_persistent_5xx_gives_a_clear_unavailable_error(
    flaky_proxy: FlakyProxy, directory_factory: Callable[..., Directory]
) -> None:
    directory = directory_factory(flaky_proxy.url)
    flaky_proxy.fail_next = 100
    with pytest.raises(DirectoryUnavailable) as caught:
        await directory.add_to_group("bob.martin@example.com", "vpn-users")
    assert caught.value.message.startswith("The directory is not responding right now (tried 3 times")
    assert "503" not in caught.value.message and "HTTP" not in caught.value.message
    assert flaky_proxy.forwarded == []
    assert len(flaky_proxy.seen) == 3  # exactly the configured attempts, then it stops


async def test_timeouts_are_retried_then_reported(
    flaky_proxy: FlakyProxy, directory_factory: Callable[..., Directory]
) -> None:
    quick = RetryPolicy(attempts=2, initial_wait_s=0.01, max_wait_s=0.02, timeout_s=0.3)
    directory = directory_factory(flaky_proxy.url, retry=quick)
    flaky_proxy.hang_next = 1
    assert await directory.get("grace.kim@example.com") is not None  # second attempt gets through
    flaky_proxy.hang_next = 2
    with pytest.raises(DirectoryUnavailable):
        await directory.get("grace.kim@example.com")


async def test_connection_refused_is_unavailable(directory_factory: Callable[..., Directory]) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    directory = directory_factory(f"http://127.0.0.1:{port}/v2")
    started = time.monotonic()
    with pytest.raises(DirectoryUnavailable):
        await directory.find_users("alice")
    assert time.monotonic() - started < 5  # short waits: the user hears back quickly


async def test_lost_create_response_does_not_duplicate(
    flaky_proxy: FlakyProxy, directory_factory: Callable[..., Directory]
) -> None:
    directory = directory_factory(flaky_proxy.url)
    flaky_proxy.lose_post_responses = 1  # the server creates the user, the client sees a 502
    person, created = await directory.create_user(
        "Quinn", "Baker", "quinn.baker@example.com", "Design", START, None, idempotency_key="lost-response"
    )
    assert created  # recognised by its idempotency key as our own creation
    posts = [path for method, path in flaky_proxy.forwarded if method == "POST" and path.endswith("/Users")]
    assert len(posts) == 1
    assert [p.email for p in await directory.find_users("quinn.baker@example.com")] == [person.email]


async def test_409_from_a_lagging_search_returns_the_existing_user(
    flaky_proxy: FlakyProxy, directory_factory: Callable[..., Directory]
) -> None:
    directory = directory_factory(flaky_proxy.url)
    flaky_proxy.hide_searches = 1  # the first lookup misses Sam, so the create hits a 409
    person, created = await directory.create_user(
        "Sam", "Taylor", "sam.taylor@example.com", "Engineering", START, None, idempotency_key="k-409"
    )
    assert not created and person.title == "Software Engineer"
    assert ("POST", "/v2/Users") in flaky_proxy.forwarded


async def test_conflict_and_not_found_messages(
    scim_server_url: str, directory_factory: Callable[..., Directory]
) -> None:
    directory = directory_factory(scim_server_url)
    user = User[EnterpriseUser].model_validate({"userName": "carol.diaz@example.com"})
    with pytest.raises(Conflict) as conflict:
        await scim_call(directory._scim.create(user))
    assert conflict.value.message == "The directory refused the change because it clashes with existing data."
    with pytest.raises(DirectoryError) as missing:
        await directory.deactivate_user("no.one@example.com")
    assert missing.value.message == "There is no one with the e-mail no.one@example.com in the directory."


async def test_bad_token_is_a_clear_error_and_good_token_works(
    make_scim_server: Callable[..., str], directory_factory: Callable[..., Directory]
) -> None:
    url = make_scim_server(token="s3cret-token")
    with pytest.raises(DirectoryError) as caught:
        await directory_factory(url, token="wrong").get("bob.martin@example.com")
    assert not isinstance(caught.value, DirectoryUnavailable)
    assert "credentials" in caught.value.message and "wrong" not in caught.value.message
    assert await directory_factory(url, token="s3cret-token").get("bob.martin@example.com") is not None
