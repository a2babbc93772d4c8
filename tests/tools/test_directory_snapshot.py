"""The embedded directory read from its snapshot file (tools.directory_snapshot) answers the approver
look-ups exactly as the SCIM directory over the same data folder does, before and after writes."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from tools.directory import Directory, build_directory
from tools.directory_data import DirectoryData, load_directory_data
from tools.directory_snapshot import SNAPSHOT_NAME, SnapshotDirectory, person_from_json
from tools.directory_types import NotFound
from tools.entity_matching import to_person
from tools.scim_store import UserModel

MIXED_CASE = "Dan.Okafor@Example.COM"


def _snapshot(data_dir: Path, sample_data_dir: Path, directory: Directory) -> SnapshotDirectory:
    data = load_directory_data(sample_data_dir / "directory.yaml")
    return SnapshotDirectory(data_dir / SNAPSHOT_NAME, groups_meta=data.groups, seed=directory.ping)


async def _same_answers(full: Directory, light: SnapshotDirectory, data: DirectoryData, extra: list[str]) -> None:
    emails = [p.email for p in data.people] + extra
    for email in emails:
        assert await light.get(email) == await full.get(email), email
        assert await light.manager_of(email) == await full.manager_of(email), email
    assert await light.inactive(emails) == await full.inactive(emails)
    names = [g.name for g in data.groups] + [g.display_name for g in data.groups] + ["ap-lead", "AP Leads"]
    for name in names:
        assert await light.group_members(name) == await full.group_members(name), name
        assert await light.group_owners(name) == await full.group_owners(name), name
    for unknown in ("no-such-team", "ap-leeds-and-more"):
        with pytest.raises(NotFound) as full_error:
            await full.group_members(unknown)
        with pytest.raises(NotFound) as light_error:
            await light.group_members(unknown)
        assert (light_error.value.message, light_error.value.suggestions) == (
            full_error.value.message,
            full_error.value.suggestions,
        )


async def test_snapshot_reads_answer_as_the_scim_directory_does(
    tmp_path: Path, sample_data_dir: Path, directory_data: DirectoryData
) -> None:
    full = build_directory(None, None, tmp_path, sample_data_dir)
    light = _snapshot(tmp_path, sample_data_dir, full)
    try:
        # No snapshot yet: the light reader has the SCIM server seed it first.
        assert not (tmp_path / SNAPSHOT_NAME).exists()
        dan = await light.get(MIXED_CASE)
        assert dan is not None and dan.email == "dan.okafor@example.com" and dan.manager_email
        await _same_answers(full, light, directory_data, [MIXED_CASE, "nobody@example.com", ""])

        # Writes through the SCIM server (another process would do the same) are seen at the next read.
        await full.create_user(
            "Dana",
            "Reyes",
            "dana.reyes@example.com",
            "Finance",
            date(2026, 12, 7),
            "carol.diaz@example.com",
            idempotency_key="snapshot-1",
        )
        await full.add_to_group("dana.reyes@example.com", "ap-leads")
        await full.deactivate_user("dan.okafor@example.com")
        await full.remove_from_group("carol.diaz@example.com", "ap-leads")
        assert await light.inactive(["dan.okafor@example.com", "carol.diaz@example.com"]) == {"dan.okafor@example.com"}
        assert "dana.reyes@example.com" in await light.group_members("ap-leads")
        assert "carol.diaz@example.com" not in await light.group_members("AP Leads")
        await _same_answers(full, light, directory_data, ["dana.reyes@example.com"])

        # An account whose userName is not its e-mail, with a second address and a third that is another
        # account's userName, written by someone else. Which of the two a look-up finds is the SCIM
        # directory's rule (an account without externalId first: Dana's has one, she was created by us).
        _add_user(tmp_path / SNAPSHOT_NAME, user_name="Zed.Alias@Example.com", emails=ZED, group="AP Leads")
        assert (await light.get("dana.reyes@example.com")) == (await full.get("dana.reyes@example.com"))
        assert await light.inactive(["zed.alias@example.com", ZED[1], "nobody@example.com"]) == {
            "zed.alias@example.com",
            ZED[1],
        }
        await _same_answers(full, light, directory_data, ["zed.alias@example.com", *ZED[:2]])
    finally:
        await full.aclose()


ZED = ["zed@example.com", "zed.other@example.com", "dana.reyes@example.com"]


def _add_user(snapshot: Path, *, user_name: str, emails: list[str], group: str) -> None:
    """Another process's write: a deactivated user (a copy of the first one, with its manager) and its
    membership of `group`, with the snapshot's generation moved on as the embedded store does."""
    body = json.loads(snapshot.read_text())
    resources = body["resources"]
    first = next(r for r in resources if r["meta"]["resourceType"] == "User")
    user = {**first, "id": "zed-id", "userName": user_name, "active": False}
    user["emails"] = [{"value": emails[0], "primary": True}, *({"value": e} for e in emails[1:])]
    resources.insert(0, user)  # found before the account whose userName it also has as an e-mail
    team = next(r for r in resources if r["meta"]["resourceType"] == "Group" and r.get("displayName") == group)
    team["members"] = [*team.get("members", []), {"value": "zed-id", "type": "User"}]
    body["generation"] += 1
    snapshot.write_text(json.dumps(body))


def test_a_user_resource_reads_the_same_as_json_and_as_a_scim_model(tmp_path: Path, sample_data_dir: Path) -> None:
    from tools.scim_store import seed_resources

    data = load_directory_data(sample_data_dir / "directory.yaml")
    users = [r.model_dump(mode="json") for r in seed_resources(data) if r.meta and r.meta.resource_type == "User"]
    by_id = {u["id"]: u["userName"] for u in users}
    users.append({**users[0], "id": "x", "emails": [], "name": None, "displayName": None, "active": None})
    users.append({**users[1], "id": "y", "emails": [{"value": "Other@Example.com", "primary": True}]})
    for raw in users:
        payload = {k: v for k, v in raw.items() if v is not None}
        assert person_from_json(payload, by_id) == to_person(UserModel.model_validate(payload), by_id), raw["id"]
    assert json.dumps(users)  # plain JSON throughout
