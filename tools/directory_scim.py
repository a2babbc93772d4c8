"""The SCIM side of the directory: the HTTP client, retried calls, paged listing, and the short-lived
people and group indexes used to resolve names (see tools.directory.Directory for the API)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Self, TypeVar

import httpx2
from scim2_client.engines.httpx2 import AsyncSCIMClient
from scim2_models import EnterpriseUser, SearchRequest
from scim2_models import Group as ScimGroup

from tools.directory_data import GroupRecord
from tools.directory_naming import find_group, group_name, no_such_group, to_group
from tools.directory_types import Group, Person
from tools.entity_matching import to_person
from tools.scim_calls import RetryPolicy, filter_literal, scim_call, with_retries
from tools.scim_store import UserModel, scim_provider

T = TypeVar("T")
PAGE_SIZE = 200


class ScimDirectory:
    """A SCIM 2.0 connection with the look-ups the directory's operations share."""

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

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

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

    async def _resolve_group(self, text: str) -> ScimGroup:
        found = find_group(text, await self._groups_index(), self._meta)
        if found is None:  # perhaps created since we last looked
            found = find_group(text, await self._groups_index(refresh=True), self._meta)
        if found is not None:
            return found
        raise no_such_group(text, await self._groups_index(), self._meta)

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
        return group_name(group, self._meta)

    def _to_group(self, group: ScimGroup, emails: dict[str, str]) -> Group:
        return to_group(group, emails, self._meta)
