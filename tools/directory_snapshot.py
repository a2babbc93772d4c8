"""The embedded directory's reads answered from its snapshot file, without the SCIM libraries.

The embedded SCIM server (tools.scim_store) serves every request from the snapshot file in the data folder:
each write replaces the file atomically under a file lock, and each request first reloads the file when
its generation moved. `SnapshotDirectory` reads that same file, so it sees exactly what the server would
answer, and answers the look-ups deciding on an approval needs (who someone is, who is deactivated, a
group's members and owners, someone's manager) with the same rules as tools.directory.Directory. One read
of the file (re-read only when its generation moves) replaces the several SCIM queries of a re-check, and
`deskhand approvals decide` no longer imports scim2-models/-client/-server (0.6 s or more of start-up)
unless the action it completes uses the directory.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tools.directory_naming import find_group, group_name, no_such_group
from tools.directory_types import NotFound, Person

if TYPE_CHECKING:
    from tools.directory_data import GroupRecord

log = logging.getLogger(__name__)

SNAPSHOT_NAME = "directory.json"  # in the data folder
SNAPSHOT_FORMAT = 1
GENERATION = re.compile(rb'"generation":\s*(\d+)')  # the first key: readers check it from the file's head
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
NO_ENTRY = "The directory has no such entry (it may have just been removed)."


@dataclass(frozen=True)
class JsonMember:
    value: str | None


@dataclass(frozen=True)
class JsonGroup:
    """A SCIM Group resource's JSON, with the attribute names tools.directory_naming reads."""

    id: str | None
    external_id: str | None
    display_name: str | None
    members: tuple[JsonMember, ...]

    @classmethod
    def of(cls, raw: Mapping[str, Any]) -> JsonGroup:
        members = tuple(JsonMember(m.get("value")) for m in raw.get("members") or ())
        return cls(raw.get("id"), raw.get("externalId"), raw.get("displayName"), members)


def person_from_json(user: Mapping[str, Any], emails_by_id: Mapping[str, str]) -> Person:
    """tools.entity_matching.to_person for a User resource's JSON (the same fields, the same defaults)."""
    name = user.get("name") or {}
    given = name.get("givenName") or ""
    family = name.get("familyName") or ""
    enterprise = user.get(ENTERPRISE) or {}
    manager = (enterprise.get("manager") or {}).get("value")
    primary = next((e.get("value") for e in user.get("emails") or () if e.get("primary")), None)
    email = (primary or user.get("userName") or "").lower()
    return Person(
        id=user.get("id") or "",
        email=email,
        given_name=given,
        family_name=family,
        display_name=user.get("displayName") or f"{given} {family}".strip() or email,
        title=user.get("title"),
        department=enterprise.get("department"),
        manager_email=emails_by_id.get(manager) if manager else None,
        active=user.get("active") is not False,
    )


@dataclass(frozen=True)
class Snapshot:
    generation: int
    users: list[dict[str, Any]]
    groups: list[JsonGroup]


def read_snapshot(path: Path, known: Snapshot | None = None) -> tuple[Snapshot | None, dict[str, Any]]:
    """The snapshot at `path` (`known` itself when its generation has not moved) and the file's header
    fields; (None, {}) when there is no snapshot yet."""
    try:
        with path.open("rb") as fh:
            head = fh.read(128)
            match = GENERATION.search(head)
            generation = int(match.group(1)) if match else 0
            if known is not None and known.generation == generation:
                return known, {}
            payload = json.loads(head + fh.read())
    except FileNotFoundError:
        return None, {}
    users: list[dict[str, Any]] = []
    groups: list[JsonGroup] = []
    for raw in payload["resources"]:
        kind = (raw.get("meta") or {}).get("resourceType")
        if kind == "User":
            users.append(raw)
        elif kind == "Group":
            groups.append(JsonGroup.of(raw))
        else:
            raise ValueError(f"unknown resource type in the directory snapshot: {kind!r}")
    header = {k: v for k, v in payload.items() if k != "resources"}
    return Snapshot(generation, users, groups), header


class SnapshotDirectory:
    """The approver look-ups of tools.directory.Directory, answered from the embedded store's snapshot.

    `seed` is awaited when there is no snapshot yet (a new data folder): it lets the SCIM server seed one.
    `groups_meta` are directory.yaml's group records (owners; the names of groups without an externalId).
    """

    changes = 0  # this reader never writes

    def __init__(
        self,
        snapshot: Path,
        *,
        groups_meta: Sequence[GroupRecord],
        seed: Callable[[], Awaitable[None]],
        seed_digest: str = "",
    ) -> None:
        self.snapshot = snapshot
        self._meta = {g.name: g for g in groups_meta}
        self._seed, self._seed_digest = seed, seed_digest
        self._state: Snapshot | None = None

    async def _current(self) -> Snapshot:
        state, header = read_snapshot(self.snapshot, self._state)
        if state is None:
            await self._seed()
            state, header = read_snapshot(self.snapshot)
            if state is None:
                raise NotFound(f"The embedded directory has no snapshot at {self.snapshot}.")
        digest = header.get("seed_digest")
        if self._state is None and digest and self._seed_digest and digest != self._seed_digest:
            log.warning(
                "the directory snapshot %s was seeded from other sample data; delete it to reseed", self.snapshot
            )
        self._state = state
        return state

    async def get(self, email: str) -> Person | None:
        """The person whose userName or e-mail is `email`, manager resolved, or None."""
        wanted = email.strip().lower()
        if not wanted:  # no SCIM user has an empty userName or e-mail
            return None
        state = await self._current()
        found = [
            u
            for u in state.users
            if (u.get("userName") or "").lower() == wanted
            or any((e.get("value") or "").lower() == wanted for e in u.get("emails") or ())
        ]
        if not found:
            return None
        # The order of ScimDirectory._find_user without an idempotency key: accounts without an externalId
        # first, then the one whose userName is `email`.
        found.sort(key=lambda u: (u.get("externalId") is not None, (u.get("userName") or "").lower() != wanted))
        user = found[0]
        manager = ((user.get(ENTERPRISE) or {}).get("manager") or {}).get("value")
        emails: dict[str, str] = {}
        if manager:
            boss = next((u for u in state.users if u.get("id") == manager), None)
            if boss is None:
                raise NotFound(NO_ENTRY)
            emails[manager] = person_from_json(boss, {}).email
        return person_from_json(user, emails)

    async def inactive(self, emails: Iterable[str]) -> set[str]:
        """Which of `emails` are the userName or an e-mail of a deactivated account, read now."""
        wanted = {e.strip().lower() for e in emails if e and e.strip()}
        if not wanted:
            return set()
        found: set[str] = set()
        for user in (await self._current()).users:
            if user.get("active") is False:
                found.add((user.get("userName") or "").lower())
                found.update((e.get("value") or "").lower() for e in user.get("emails") or ())
        return wanted & found

    async def _group(self, name: str) -> JsonGroup:
        groups = (await self._current()).groups
        found = find_group(name, groups, self._meta)
        if found is None:
            raise no_such_group(name, groups, self._meta)
        return found

    async def group_members(self, group: str) -> list[str]:
        """E-mails of the current members of `group` (name or display name) known as users."""
        found = await self._group(group)
        emails = {u["id"]: person_from_json(u, {}).email for u in (await self._current()).users if u.get("id")}
        return [emails[m.value] for m in found.members if m.value is not None and m.value in emails]

    async def group_owners(self, group: str) -> list[str]:
        """E-mails of the owners of `group`: Deskhand metadata from directory.yaml (SCIM has none)."""
        record = self._meta.get(group_name(await self._group(group), self._meta))
        return list(record.owners) if record else []

    async def manager_of(self, email: str) -> str | None:
        person = await self.get(email)
        return person.manager_email if person else None

    async def aclose(self) -> None:
        return None
