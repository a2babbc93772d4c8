"""The embedded directory: an in-memory `scim2-server` seeded from directory.yaml, reached in-process.

Persistence choice: the server keeps its resources in memory, so after every successful write the whole
resource set is written to a JSON snapshot in the data folder (atomically: temp file + rename), and
every request first reloads the snapshot when another process has written a newer generation. Writers
hold a file lock across reload → write → snapshot, so separate CLI invocations and a running server
see each other's changes and never overwrite them. The directory is small (tens to a few thousand
people), so a whole-file snapshot is simpler and safer than a journal.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import filelock
import httpx2
from scim2_models import EnterpriseUser, Group, Resource, ResourceType, ScimProvider, User
from scim2_server.applications.asgi import ASGIApplication
from scim2_server.memory import AsyncInMemoryStorage, InMemoryStorage
from scim2_server.utils import load_default_provider

from tools.directory_data import DirectoryData
from tools.directory_snapshot import GENERATION, SNAPSHOT_FORMAT

log = logging.getLogger(__name__)

UserModel = User[EnterpriseUser]
EMBEDDED_URL = "http://directory.deskhand.internal/v2"
_ID_NAMESPACE = uuid.UUID("6f0b1d2e-4a53-4c8e-9d0e-5a1e2b3c4d5e")
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def scim_provider() -> ScimProvider:
    """What Deskhand expects of any SCIM server: Users with the enterprise extension, and Groups."""
    return ScimProvider(
        models=[User, EnterpriseUser, Group],
        resource_types=[ResourceType.from_resource(UserModel), ResourceType.from_resource(Group)],
    )


def seed_resources(data: DirectoryData) -> list[Resource[Any]]:
    """SCIM resources for the sample directory, with stable ids derived from e-mails and group names."""
    now = datetime.now(UTC)
    ids = {p.email: uuid.uuid5(_ID_NAMESPACE, f"user:{p.email}").hex for p in data.people}
    names = {p.email: p.display_name for p in data.people}
    resources: list[Resource[Any]] = []
    for person in data.people:
        enterprise: dict[str, Any] = {"department": person.department}
        if person.manager:
            enterprise["manager"] = {"value": ids[person.manager]}
        resources.append(
            UserModel.model_validate(
                {
                    "schemas": [str(User.__schema__), str(EnterpriseUser.__schema__)],
                    "id": ids[person.email],
                    "meta": _meta("User", now),
                    "userName": person.email,
                    "name": {
                        "givenName": person.given_name,
                        "familyName": person.family_name,
                        "formatted": person.display_name,
                    },
                    "displayName": person.display_name,
                    "title": person.title,
                    "active": person.active,
                    "emails": [{"value": person.email, "type": "work", "primary": True}],
                    str(EnterpriseUser.__schema__): enterprise,
                }
            )
        )
    for group in data.groups:
        resources.append(
            Group.model_validate(
                {
                    "schemas": [str(Group.__schema__)],
                    "id": uuid.uuid5(_ID_NAMESPACE, f"group:{group.name}").hex,
                    "meta": _meta("Group", now),
                    "externalId": group.name,
                    "displayName": group.display_name,
                    "members": [{"value": ids[e], "type": "User", "display": names[e]} for e in group.members],
                }
            )
        )
    return resources


def _meta(kind: str, now: datetime) -> dict[str, Any]:
    stamp = now.isoformat()
    return {"resourceType": kind, "created": stamp, "lastModified": stamp, "version": 'W/"1"'}


def seeded_storage(data: DirectoryData) -> InMemoryStorage:
    """An in-memory SCIM storage holding the sample directory (used by the embedded store and tests)."""
    storage = InMemoryStorage()
    _replace_resources(storage, seed_resources(data))
    return storage


def _replace_resources(storage: InMemoryStorage, resources: list[Resource[Any]]) -> None:
    storage.resources = resources
    versions = [_version_number(r) for r in resources]
    # Versions come from a per-process counter: continue after the highest one already written.
    storage.versions = itertools.count(max(versions, default=0) + 1)


def _version_number(resource: Resource[Any]) -> int:
    version = resource.meta.version if resource.meta else None
    digits = re.sub(r"\D", "", version or "")
    return int(digits) if digits else 0


def _resource_from_json(payload: dict[str, Any]) -> Resource[Any]:
    kind = (payload.get("meta") or {}).get("resourceType")
    if kind == "User":
        return UserModel.model_validate(payload)
    if kind == "Group":
        return Group.model_validate(payload)
    raise ValueError(f"unknown resource type in the directory snapshot: {kind!r}")


class EmbeddedScimTransport(httpx2.AsyncBaseTransport):
    """An httpx2 transport that serves SCIM requests from an in-process server backed by a snapshot file."""

    def __init__(
        self, snapshot: Path, data: DirectoryData, seed_digest: str = "", lock_timeout_s: float = 15.0
    ) -> None:
        self.snapshot = snapshot
        self._data = data
        self._seed_digest = seed_digest
        self._storage = InMemoryStorage()
        app: Any = ASGIApplication(AsyncInMemoryStorage(self._storage), load_default_provider())
        self._asgi = httpx2.ASGITransport(app=app)
        self._mutex = asyncio.Lock()
        # thread_local=False: the lock is taken in a worker thread and released on the event loop.
        self._file_lock = filelock.FileLock(str(snapshot) + ".lock", timeout=lock_timeout_s, thread_local=False)
        self._generation = -1  # the snapshot generation held in memory; -1 = nothing loaded yet
        self._dumped: dict[tuple[str | None, str | None], dict[str, Any]] = {}  # (id, version) → JSON

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        write = request.method in _WRITES and not request.url.path.endswith("/.search")
        async with self._mutex:  # one request at a time: a reload must not land mid-request
            locked = False
            if write or self._generation < 0:
                self.snapshot.parent.mkdir(parents=True, exist_ok=True)
                try:
                    await self._acquire_file_lock()
                except filelock.Timeout:
                    return _busy_response()
                locked = True
            try:
                self._sync_from_disk(seed_if_missing=locked)
                response = await self._asgi.handle_async_request(request)
                if write:
                    await response.aread()
                    if response.status_code < 300:
                        self._save()
                return response
            finally:
                if locked:
                    self._file_lock.release()

    async def _acquire_file_lock(self) -> None:
        """Take the file lock in a worker thread; if we are cancelled meanwhile, release it once taken."""
        pending = asyncio.ensure_future(asyncio.to_thread(self._file_lock.acquire))
        try:
            await asyncio.shield(pending)
        except asyncio.CancelledError:

            def release(done: asyncio.Future[Any]) -> None:
                if not done.cancelled() and done.exception() is None:
                    self._file_lock.release()

            pending.add_done_callback(release)
            raise

    def _sync_from_disk(self, *, seed_if_missing: bool) -> None:
        try:
            with self.snapshot.open("rb") as fh:
                head = fh.read(128)
                match = GENERATION.search(head)
                generation = int(match.group(1)) if match else 0
                if generation == self._generation:
                    return
                payload = json.loads(head + fh.read())
        except FileNotFoundError:
            if not seed_if_missing:
                return
            _replace_resources(self._storage, seed_resources(self._data))
            self._generation = 0
            self._save()
            log.info("seeded the embedded directory at %s", self.snapshot)
            return
        stale = payload.get("seed_digest") and self._seed_digest and payload["seed_digest"] != self._seed_digest
        if stale and self._generation < 0:  # once per process
            log.warning(
                "the directory snapshot %s was seeded from other sample data; delete it to reseed",
                self.snapshot,
            )
        resources = [_resource_from_json(r) for r in payload["resources"]]
        _replace_resources(self._storage, resources)
        self._dumped = {
            (r.id, r.meta.version if r.meta else None): raw
            for r, raw in zip(resources, payload["resources"], strict=True)
        }
        self._generation = generation

    def _save(self) -> None:
        self._generation += 1
        body = {
            "generation": self._generation,  # first key: readers check it from the file's head
            "format": SNAPSHOT_FORMAT,
            "seed_digest": self._seed_digest,
            "resources": [self._dump(r) for r in self._storage.resources],
        }
        live = {(r.id, r.meta.version if r.meta else None) for r in self._storage.resources}
        self._dumped = {k: v for k, v in self._dumped.items() if k in live}
        tmp = self.snapshot.with_name(f".{self.snapshot.name}.{os.getpid()}.tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            json.dump(body, fh, separators=(",", ":"))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.snapshot)

    def _dump(self, resource: Resource[Any]) -> dict[str, Any]:
        """The JSON form of a resource, reused while its version is unchanged (every write bumps it)."""
        key = (resource.id, resource.meta.version if resource.meta else None)
        dumped = self._dumped.get(key)
        if dumped is None:
            dumped = resource.model_dump(mode="json")
            self._dumped[key] = dumped
        return dumped

    async def aclose(self) -> None:
        await self._asgi.aclose()


def _busy_response() -> httpx2.Response:
    error = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": "503",
        "detail": "the embedded directory store is locked by another process",
    }
    return httpx2.Response(503, json=error, headers={"Content-Type": "application/scim+json"})
