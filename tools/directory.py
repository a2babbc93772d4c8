"""The provisioning directory: an async API over any SCIM 2.0 server (RFC 7643/7644) via scim2-client."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

from scim2_models import EnterpriseUser, SearchRequest, User
from scim2_models import Group as ScimGroup

from tools.data_files import file_digest
from tools.directory_data import load_directory_data
from tools.directory_scim import PAGE_SIZE, ScimDirectory
from tools.directory_snapshot import SNAPSHOT_NAME
from tools.directory_types import Conflict, DirectoryError, Group, NotFound, Person
from tools.entity_matching import fold, match_names, to_person
from tools.scim_calls import filter_literal, patch_op, scim_call
from tools.scim_store import EMBEDDED_URL, EmbeddedScimTransport, UserModel

log = logging.getLogger(__name__)
USER_SCHEMA = str(User.__schema__)
ENTERPRISE_SCHEMA = str(EnterpriseUser.__schema__)


class Directory(ScimDirectory):
    """People and groups in a SCIM directory, with idempotent writes and retried transient failures."""

    # -- reads -----------------------------------------------------------------------------------
    async def ping(self) -> None:
        """One minimal query, no retries (readiness checks): raises when the directory can't answer."""
        search: SearchRequest[Any] = SearchRequest.model_validate({"count": 1})
        await scim_call(self._scim.query(UserModel, query_parameters=search))

    async def get(self, email: str) -> Person | None:
        """The person whose userName or e-mail is `email`, or None."""
        return await self._retrying(lambda: self._lookup(email), "looking up a person")

    async def person(self, email: str) -> Person:
        """Like `get`, but raises NotFound (with close matches as suggestions) when there is no one."""
        return await self._retrying(lambda: self._require_person(email), "looking up a person")

    async def group(self, name: str) -> Group:
        """The group called `name` (name or display name; small typos tolerated), members current."""
        found = await self._retrying(lambda: self._fresh_group(name), "reading a group")
        return self._to_group(found, await self._emails_for(found.members or []))

    async def find_users(self, query: str) -> list[Person]:
        """People matching an e-mail/userName exactly, else by (fuzzy) name; best match first."""
        text = query.strip()
        if not text:
            return []
        if "@" in text:
            exact = await self.get(text)
            if exact is not None:
                return [exact]
            text = text.split("@", 1)[0].replace(".", " ").replace("_", " ").replace("-", " ")
        people = await self.known_people()
        return match_names(text, people)

    async def known_people(self) -> list[Person]:
        """Everyone in the directory (cached for `cache_ttl_s`), for entity matching."""
        people = await self._people_map()
        return sorted(people.values(), key=lambda p: p.display_name)

    async def known_groups(self) -> list[Group]:
        """Every group with its name, display name, owners and members, for entity matching."""
        return await self.groups()

    async def groups(self) -> list[Group]:
        """Every group, read fresh (members included)."""
        found = await self._list(ScimGroup)
        self._group_index, self._groups_at = found, time.monotonic()
        emails = await self._emails_for([m for g in found for m in g.members or []])
        return sorted((self._to_group(g, emails) for g in found), key=lambda g: g.name)

    async def group_members(self, group: str) -> list[str]:
        """E-mails of the current members of `group` (name or display name)."""
        return list((await self.group(group)).members)

    async def group_owners(self, group: str) -> list[str]:
        """E-mails of the owners of `group`: Deskhand metadata from directory.yaml (SCIM has none)."""
        found = await self._retrying(lambda: self._resolve_group(group), "reading a group")
        return list(self._to_group(found, {}).owners)

    async def manager_of(self, email: str) -> str | None:
        """The manager's e-mail (SCIM enterprise extension `manager`); None when the person has no
        manager or is not in the directory (so an unknown requester simply has no manager to ask)."""
        person = await self.get(email)
        return person.manager_email if person else None

    async def inactive(self, emails: Iterable[str]) -> set[str]:
        """Which of `emails` belong to deactivated accounts, read fresh (never from a cache): someone
        offboarded a moment ago, by any process, must not count as an approver or group member."""
        wanted = {e.strip().lower() for e in emails if e and e.strip()}
        if not wanted:
            return set()

        async def read() -> set[str]:
            found: set[str] = set()
            start = 1
            while True:
                search: SearchRequest[Any] = SearchRequest.model_validate(
                    {"filter": "active eq false", "startIndex": start, "count": PAGE_SIZE}
                )
                page = await scim_call(self._scim.query(UserModel, query_parameters=search))
                batch = list(page.resources or [])
                for user in batch:
                    found.add((user.user_name or "").lower())
                    found.update((e.value or "").lower() for e in user.emails or [])
                start += len(batch)
                if not batch or start > (page.total_results or 0):
                    return found

        return wanted & await self._retrying(read, "checking which accounts are active")

    def suggest_email(self, given_name: str, family_name: str, domain: str) -> str:
        """The company convention first.last@domain, without accents or spaces."""

        def part(text: str) -> str:
            return "".join(c for c in fold(text) if c.isalnum() or c == "-")

        return f"{part(given_name)}.{part(family_name)}@{domain}"

    async def main_domain(self) -> str | None:
        """The most common e-mail domain among the people in the directory."""
        domains = [p.email.split("@", 1)[1] for p in await self.known_people() if "@" in p.email]
        return max(set(domains), key=domains.count) if domains else None

    # -- writes ----------------------------------------------------------------------------------

    async def create_user(
        self,
        given_name: str,
        family_name: str,
        email: str,
        department: str | None,
        start_date: date | None,
        manager_email: str | None = None,
        *,
        idempotency_key: str,
    ) -> tuple[Person, bool]:
        """Create an active account; returns (person, created). Never makes a duplicate: an existing
        userName returns that account with created=False, and a retry with the same idempotency key
        (stored as the SCIM externalId) returns the first result, created=True. SCIM has no start-date
        attribute: the start date is the caller's to record (audit log, result); the account is active."""
        email = email.strip().lower()
        manager_id: str | None = None
        if manager_email:
            manager = await self.get(manager_email)
            if manager is None:
                raise NotFound(f"The manager {manager_email} is not in the directory.")
            manager_id, manager_email = manager.id, manager.email

        async def existing() -> tuple[Person, bool] | None:
            user = await self._find_user(email, idempotency_key)
            if user is None:
                return None
            # Created with this key (an earlier attempt whose answer was lost): replay "created".
            return await self._person_with_manager(user), user.external_id == idempotency_key

        async def once() -> tuple[Person, bool]:
            found = await existing()
            if found is not None:
                return found
            enterprise: dict[str, Any] = {"department": department}
            if manager_id:
                enterprise["manager"] = {"value": manager_id}
            user = UserModel.model_validate(
                {
                    "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
                    "userName": email,
                    "externalId": idempotency_key,
                    "name": {
                        "givenName": given_name,
                        "familyName": family_name,
                        "formatted": f"{given_name} {family_name}",
                    },
                    "displayName": f"{given_name} {family_name}",
                    "active": True,
                    "emails": [{"value": email, "type": "work", "primary": True}],
                    ENTERPRISE_SCHEMA: enterprise,
                }
            )
            try:
                created = await scim_call(self._scim.create(user))
            except Conflict:
                # Someone (or our own earlier, lost request) created it meanwhile: return that one.
                found = await existing()
                if found is None:
                    raise Conflict(
                        f"The directory refused to create {email}: it clashes with an existing account."
                    ) from None
                return found
            self._forget_people()
            self.changes += 1
            emails = {manager_id: manager_email} if manager_id and manager_email else {}
            return to_person(created, emails), True

        return await self._retrying(once, "creating an account")

    async def add_to_group(self, email: str, group: str) -> str:
        """Add a member (PATCH add; idempotent). Returns a user-facing sentence."""

        async def once() -> str:
            person = await self._require_person(email)
            found = await self._fresh_group(group)
            label = found.display_name or group
            if not person.active:
                raise DirectoryError(
                    f"{person.display_name}'s account is deactivated; reactivate it before adding it to {label}."
                )
            if any(m.value == person.id for m in found.members or []):
                return f"{person.display_name} is already a member of {label}."
            value = [{"value": person.id, "type": "User", "display": person.display_name}]
            patch = patch_op(ScimGroup, {"op": "add", "path": "members", "value": value})
            await scim_call(self._scim.modify(ScimGroup, found.id, patch))
            self.changes += 1
            return f"Added {person.display_name} ({person.email}) to {label}."

        return await self._retrying(once, "changing a group")

    async def remove_from_group(self, email: str, group: str) -> str:
        """Remove a member (PATCH remove; idempotent). Returns a user-facing sentence."""

        async def once() -> str:
            person = await self._require_person(email)
            found = await self._fresh_group(group)
            label = found.display_name or group
            if not any(m.value == person.id for m in found.members or []):
                return f"{person.display_name} is not a member of {label}."
            path = f"members[value eq {filter_literal(person.id)}]"
            patch = patch_op(ScimGroup, {"op": "remove", "path": path})
            await scim_call(self._scim.modify(ScimGroup, found.id, patch))
            self.changes += 1
            return f"Removed {person.display_name} ({person.email}) from {label}."

        return await self._retrying(once, "changing a group")

    async def deactivate_user(self, email: str) -> str:
        """Set active=false (PATCH replace; idempotent). Returns a user-facing sentence."""

        async def once() -> str:
            person = await self._require_person(email)
            if not person.active:
                return f"{person.display_name}'s account is already deactivated."
            patch = patch_op(UserModel, {"op": "replace", "path": "active", "value": False})
            await scim_call(self._scim.modify(UserModel, person.id, patch))
            self._forget_people()
            self.changes += 1
            return f"Deactivated {person.display_name}'s account ({person.email})."

        return await self._retrying(once, "deactivating an account")

    async def _require_person(self, email: str) -> Person:
        person = await self._lookup(email)
        if person is not None:
            return person
        suggestions = tuple(p.email for p in (await self.find_users(email))[:3])
        hint = f" Did you mean {' or '.join(suggestions)}?" if suggestions else ""
        raise NotFound(f"There is no one with the e-mail {email} in the directory.{hint}", suggestions)


def build_directory(scim_url: str | None, token: str | None, data_dir: Path, sample_data: Path) -> Directory:
    """A Directory over `scim_url`, or over the embedded SCIM server persisted in `data_dir`.

    Group owners always come from `sample_data`/directory.yaml (Deskhand metadata); the embedded
    server is also seeded from it on first use.
    """
    path = sample_data / "directory.yaml"
    if scim_url:
        groups = load_directory_data(path).groups if path.exists() else ()
        if not groups:
            log.warning("no group owners: %s is missing or lists no groups", path)
        return Directory(scim_url, token, groups_meta=groups)
    data = load_directory_data(path)
    transport = EmbeddedScimTransport(data_dir / SNAPSHOT_NAME, data, seed_digest=file_digest(path))
    return Directory(EMBEDDED_URL, None, groups_meta=data.groups, transport=transport)
