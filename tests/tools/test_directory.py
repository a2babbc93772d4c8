"""The Directory against a real scim2-server on 127.0.0.1: reads, idempotent writes, clear errors."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date

import pytest

from tools.directory import Directory
from tools.directory_types import DirectoryError, NotFound

START = date(2026, 11, 30)


async def test_get_returns_person_with_manager_and_department(
    scim_server_url: str, directory_factory: Callable[..., Directory]
) -> None:
    directory = directory_factory(scim_server_url)
    person = await directory.get("Hector.Ruiz@example.com")
    assert person is not None
    assert (person.display_name, person.title, person.department) == ("Hector Ruiz", "AP Clerk", "Finance")
    assert person.manager_email == "carol.diaz@example.com"
    assert await directory.get("nobody@example.com") is None


async def test_find_users_by_email_name_and_typo(
    scim_server_url: str, directory_factory: Callable[..., Directory]
) -> None:
    directory = directory_factory(scim_server_url)
    assert [p.email for p in await directory.find_users("maya.patel@example.com")] == ["maya.patel@example.com"]
    assert [p.email for p in await directory.find_users("Maya Patel")] == ["maya.patel@example.com"]
    assert [p.email for p in await directory.find_users("mya patl")] == ["maya.patel@example.com"]
    assert [p.email for p in await directory.find_users("Becker")] == ["tom.becker@example.com"]
    # An e-mail that does not exist falls back to its local part as a name: a suggestion, not a match.
    assert [p.email for p in await directory.find_users("bob@example.com")] == ["bob.martin@example.com"]
    assert await directory.find_users("al") == []  # too short to fuzzily match "Alice"
    assert await directory.find_users("Zebulon Quartermaine") == []


async def test_filter_injection_in_lookup_matches_nothing(
    scim_server_url: str, directory_factory: Callable[..., Directory]
) -> None:
    directory = directory_factory(scim_server_url)
    assert await directory.get('x" or userName pr or userName eq "y') is None


async def test_groups_owners_members_and_manager(
    scim_server_url: str, directory_factory: Callable[..., Directory]
) -> None:
    directory = directory_factory(scim_server_url)
    groups = {g.name: g for g in await directory.groups()}
    assert set(groups) == {
        "engineering",
        "finance",
        "hr",
        "sales",
        "design",
        "it-admins",
        "vpn-users",
        "ap-team",
        "ap-leads",
    }
    assert groups["vpn-users"].display_name == "VPN Users"
    assert groups["vpn-users"].owners == ("alice.nguyen@example.com",)
    assert await directory.group_owners("ap-leads") == ["kate.novak@example.com"]
    assert await directory.group_owners("VPN Users") == ["alice.nguyen@example.com"]
    assert sorted(await directory.group_members("AP Leads")) == ["carol.diaz@example.com", "dan.okafor@example.com"]
    assert await directory.manager_of("bob.martin@example.com") == "frank.li@example.com"
    assert await directory.manager_of("rosa.alvarez@example.com") is None
    assert await directory.manager_of("nobody@example.com") is None


async def test_create_user_is_idempotent_on_retry(directory: Directory) -> None:
    first, created = await directory.create_user(
        "Dana",
        "Reyes",
        "dana.reyes@example.com",
        "Finance",
        START,
        "erin.walsh@example.com",
        idempotency_key="approval-1",
    )
    again, created_again = await directory.create_user(
        "Dana",
        "Reyes",
        "dana.reyes@example.com",
        "Finance",
        START,
        "erin.walsh@example.com",
        idempotency_key="approval-1",
    )
    assert created and created_again  # the retry replays the first result
    assert again.id == first.id
    assert first.manager_email == "erin.walsh@example.com" and first.department == "Finance"
    matches = [p for p in await directory.known_people() if p.email == "dana.reyes@example.com"]
    assert len(matches) == 1


async def test_create_existing_user_returns_it_without_duplicate(directory: Directory) -> None:
    person, created = await directory.create_user(
        "Bob", "Martin", "bob.martin@example.com", "Engineering", START, None, idempotency_key="other-key"
    )
    assert not created
    assert person.title == "Software Engineer"  # the existing account, untouched
    assert len([p for p in await directory.known_people() if p.email == "bob.martin@example.com"]) == 1


async def test_concurrent_creates_make_one_user(directory: Directory) -> None:
    results = await asyncio.gather(
        *(
            directory.create_user(
                "Lena", "Ortiz", "lena.ortiz@example.com", "Sales", START, None, idempotency_key=f"race-{i}"
            )
            for i in range(4)
        )
    )
    assert len({person.id for person, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert len([p for p in await directory.known_people() if p.email == "lena.ortiz@example.com"]) == 1


async def test_create_with_unknown_manager_is_refused(directory: Directory) -> None:
    with pytest.raises(NotFound, match=r"manager ghost@example\.com is not in the directory"):
        await directory.create_user("A", "B", "a.b@example.com", "IT", START, "ghost@example.com", idempotency_key="k")
    assert await directory.get("a.b@example.com") is None


async def test_group_membership_add_remove_idempotent(directory: Directory) -> None:
    assert await directory.add_to_group("tom.becker@example.com", "vpn-users") == (
        "Added Tom Becker (tom.becker@example.com) to VPN Users."
    )
    assert "tom.becker@example.com" in await directory.group_members("vpn-users")
    assert await directory.add_to_group("tom.becker@example.com", "VPN Users") == (
        "Tom Becker is already a member of VPN Users."
    )
    members = await directory.group_members("vpn-users")
    assert members.count("tom.becker@example.com") == 1
    assert await directory.remove_from_group("tom.becker@example.com", "vpn-users") == (
        "Removed Tom Becker (tom.becker@example.com) from VPN Users."
    )
    assert await directory.remove_from_group("tom.becker@example.com", "vpn-users") == (
        "Tom Becker is not a member of VPN Users."
    )
    assert "tom.becker@example.com" not in await directory.group_members("vpn-users")


async def test_group_name_typo_is_tolerated_but_unknown_group_is_not(directory: Directory) -> None:
    assert "already a member of Engineering" in await directory.add_to_group("bob.martin@example.com", "enginering")
    with pytest.raises(NotFound) as caught:
        await directory.add_to_group("bob.martin@example.com", "marketing")
    assert caught.value.message.startswith("There is no group called 'marketing'")


async def test_unknown_person_gets_a_suggestion(directory: Directory) -> None:
    with pytest.raises(NotFound) as caught:
        await directory.add_to_group("bob@example.com", "engineering")
    assert caught.value.suggestions == ("bob.martin@example.com",)
    assert "Did you mean bob.martin@example.com?" in caught.value.message


async def test_deactivate_is_idempotent_and_blocks_group_adds(directory: Directory) -> None:
    assert await directory.deactivate_user("ivy.chen@example.com") == (
        "Deactivated Ivy Chen's account (ivy.chen@example.com)."
    )
    assert await directory.deactivate_user("ivy.chen@example.com") == "Ivy Chen's account is already deactivated."
    person = await directory.get("ivy.chen@example.com")
    assert person is not None and person.active is False
    with pytest.raises(DirectoryError, match="deactivated"):
        await directory.add_to_group("ivy.chen@example.com", "vpn-users")


async def test_writes_by_one_client_are_seen_by_another(
    make_scim_server: Callable[..., str], directory_factory: Callable[..., Directory]
) -> None:
    url = make_scim_server()
    writer, reader = directory_factory(url), directory_factory(url)
    assert "maya.patel@example.com" not in await reader.group_members("design")  # warms the reader's cache
    await writer.create_user(
        "Pia", "Lund", "pia.lund@example.com", "Design", START, "zoe.adams@example.com", idempotency_key="pia"
    )
    await writer.add_to_group("pia.lund@example.com", "design")
    assert "pia.lund@example.com" in await reader.group_members("design")  # unknown member → cache refresh


async def test_inactive_is_read_fresh_across_directory_clients(
    make_scim_server: Callable[..., str], directory_factory: Callable[..., Directory]
) -> None:
    url = make_scim_server()
    here, elsewhere = directory_factory(url), directory_factory(url)
    await here.known_people()  # a warm people cache must not hide a later deactivation
    asked = ["ethan.cole@example.com", "carol.diaz@example.com", "Dan.Okafor@example.com"]
    assert await here.inactive(asked) == {"ethan.cole@example.com"}
    before = here.changes
    await elsewhere.deactivate_user("carol.diaz@example.com")
    assert await here.inactive(asked) == {"ethan.cole@example.com", "carol.diaz@example.com"}
    assert here.changes == before, "a write elsewhere is seen by reading fresh, not by this counter"
    assert elsewhere.changes == 1
    assert await here.inactive([]) == set()
