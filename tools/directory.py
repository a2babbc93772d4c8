"""The provisioning directory: an async API over any SCIM 2.0 server (RFC 7643/7644) via scim2-client."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import httpx2
from rapidfuzz import fuzz, process, utils
from scim2_client.engines.httpx2 import AsyncSCIMClient
from scim2_models import EnterpriseUser, SearchRequest, User
from scim2_models import Group as ScimGroup

from tools.data_files import file_digest
from tools.directory_data import GroupRecord, load_directory_data
from tools.directory_types import Conflict, DirectoryError, Group, NotFound, Person
from tools.entity_matching import fold, match_group, match_names, to_person
from tools.scim_calls import RetryPolicy, filter_literal, patch_op, scim_call, with_retries
from tools.scim_store import EMBEDDED_URL, EmbeddedScimTransport, UserModel, scim_provider

log = logging.getLogger(__name__)
T = TypeVar("T")
PAGE_SIZE = 200
USER_SCHEMA = str(User.__schema__)
ENTERPRISE_SCHEMA = str(EnterpriseUser.__schema__)


class Directory:
    """People and groups in a SCIM directory, with idempotent writes and retried transient failures."""

    def __init__(
        self,
        scim_url: str,
        token: str | None = None,
        *,
        groups_meta: Sequence[GroupRecord] = (),
        retry: RetryPolicy | None = None,
        cache_ttl_s: float = 30.0,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        self.retry = retry or RetryPolicy()
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx2.AsyncClient(
            base_url=scim_url, headers=headers, timeout=self.retry.timeout_s, transport=transport
        )
        self._scim = AsyncSCIMClient(self._http, provider=scim_provider())
        self._meta = {g.name: g for g in groups_meta}
        self._cache_ttl_s = cache_ttl_s
        # Caches for entity matching. Membership is always read fresh; the group index only maps
        # names to ids, which membership changes do not touch.
        self._people: dict[str, Person] | None = None  # by SCIM id
        self._people_at = 0.0
        self._group_index: list[ScimGroup] | None = None
        self._groups_at = 0.0
        # Bumped by every write through this object, so caches of people's state held elsewhere in this
        # process (the agent's requester identities) know at once that they may be out of date.
        self.changes = 0

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Directory:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

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

    # -- internals -------------------------------------------------------------------------------

    async def _retrying(self, op: Callable[[], Awaitable[T]], what: str) -> T:
        return await with_retries(op, what, self.retry)

    async def _lookup(self, email: str) -> Person | None:
        user = await self._find_user(email)
        return await self._person_with_manager(user) if user is not None else None

    async def _find_user(self, email: str, idempotency_key: str | None = None) -> Any | None:
        """The raw SCIM user for `email` (or created with `idempotency_key`), or None."""
        email = email.strip().lower()
        value = filter_literal(email)
        clause = f"userName eq {value} or emails.value eq {value}"
        if idempotency_key:
            clause += f" or externalId eq {filter_literal(idempotency_key)}"
        search: SearchRequest[Any] = SearchRequest.model_validate({"filter": clause})
        page = await scim_call(self._scim.query(UserModel, query_parameters=search))
        users = list(page.resources or [])
        if not users:
            return None
        # Prefer the account this key created, then the exact userName.
        users.sort(key=lambda u: (u.external_id != idempotency_key, (u.user_name or "").lower() != email))
        return users[0]

    async def _person_with_manager(self, user: UserModel) -> Person:
        manager = user[EnterpriseUser].manager if user[EnterpriseUser] else None
        emails: dict[str, str] = {}
        if manager is not None and manager.value:
            boss = (self._people or {}).get(manager.value)  # a cached (possibly old) entry is fine here
            if boss is None:
                fetched = await scim_call(self._scim.query(UserModel, manager.value))
                boss = to_person(fetched, {})
            emails[manager.value] = boss.email
        return to_person(user, emails)

    async def _require_person(self, email: str) -> Person:
        person = await self._lookup(email)
        if person is not None:
            return person
        suggestions = tuple(p.email for p in (await self.find_users(email))[:3])
        hint = f" Did you mean {' or '.join(suggestions)}?" if suggestions else ""
        raise NotFound(f"There is no one with the e-mail {email} in the directory.{hint}", suggestions)

    async def _resolve_group(self, text: str) -> ScimGroup:
        found = match_group(text, await self._groups_index(), self._labels)
        if found is None:  # perhaps created since we last looked
            found = match_group(text, await self._groups_index(refresh=True), self._labels)
        if found is not None:
            return found
        names = [self._group_name(g) for g in await self._groups_index()]
        close = process.extract(
            text, names, scorer=fuzz.WRatio, processor=utils.default_process, limit=3, score_cutoff=50
        )
        suggestions = tuple(c[0] for c in close)
        hint = f" Did you mean {' or '.join(suggestions)}?" if suggestions else ""
        raise NotFound(f"There is no group called {text!r} in the directory.{hint}", suggestions)

    def _labels(self, group: ScimGroup) -> tuple[str, ...]:
        return (self._group_name(group), group.display_name or "", group.external_id or "")

    async def _fresh_group(self, text: str) -> ScimGroup:
        """Resolve a group by name, then re-read it so its member list is current."""
        cached = await self._resolve_group(text)
        found: ScimGroup = await scim_call(self._scim.query(ScimGroup, cached.id))
        return found

    async def _people_map(self, *, refresh: bool = False) -> dict[str, Person]:
        if refresh or self._people is None or time.monotonic() - self._people_at > self._cache_ttl_s:
            users = await self._list(UserModel)
            by_id = {u.id: (u.user_name or "").lower() for u in users if u.id}
            self._people = {u.id: to_person(u, by_id) for u in users if u.id}
            self._people_at = time.monotonic()
        return self._people

    async def _groups_index(self, *, refresh: bool = False) -> list[ScimGroup]:
        if refresh or self._group_index is None or time.monotonic() - self._groups_at > self._cache_ttl_s:
            self._group_index = await self._list(ScimGroup)
            self._groups_at = time.monotonic()
        return self._group_index

    async def _emails_for(self, members: list[Any]) -> dict[str, str]:
        """SCIM user id → e-mail for group members, re-reading people once if one is unknown to us."""
        ids = {m.value for m in members if m.value}
        people = await self._people_map()
        if not ids <= set(people):
            people = await self._people_map(refresh=True)  # someone joined since we last looked
        return {i: people[i].email for i in ids if i in people}

    async def _list(self, model: Any) -> list[Any]:
        found: list[Any] = []
        start = 1

        async def read_page() -> Any:
            request: SearchRequest[Any] = SearchRequest.model_validate({"startIndex": start, "count": PAGE_SIZE})
            return await scim_call(self._scim.query(model, query_parameters=request))

        while True:
            page = await self._retrying(read_page, "reading the directory")
            batch = list(page.resources or [])
            found.extend(batch)
            total = page.total_results or 0
            if not batch or len(found) >= total:
                return found
            start += len(batch)

    def _forget_people(self) -> None:
        self._people = None

    def _group_name(self, group: ScimGroup) -> str:
        if group.external_id:
            return group.external_id
        label = fold(group.display_name or "")
        for meta in self._meta.values():
            if fold(meta.display_name) == label:
                return meta.name
        return "-".join(label.split())

    def _to_group(self, group: ScimGroup, emails: dict[str, str]) -> Group:
        name = self._group_name(group)
        meta = self._meta.get(name)
        members = tuple(emails[m.value] for m in group.members or [] if m.value in emails)
        return Group(
            id=group.id or "",
            name=name,
            display_name=group.display_name or name,
            description=meta.description if meta else "",
            owners=meta.owners if meta else (),
            members=members,
        )


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
    transport = EmbeddedScimTransport(data_dir / "directory.json", data, seed_digest=file_digest(path))
    return Directory(EMBEDDED_URL, None, groups_meta=data.groups, transport=transport)
