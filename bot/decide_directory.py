"""The directory as `deskhand approvals decide` uses it: the approver re-check reads the embedded directory's
snapshot (tools.directory_snapshot), and the SCIM client (scim2-client/-models, 0.6 s or more to import)
is opened only when something needs it: the action a decision completes uses the directory, the embedded
store has no snapshot yet, or the directory is a remote SCIM server (`SCIM_URL`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tools.data_files import file_digest
from tools.directory_data import load_directory_data
from tools.directory_snapshot import SNAPSHOT_NAME, SnapshotDirectory

if TYPE_CHECKING:
    from bot.settings import Settings
    from graphs.context import Directory as ApproverLookups
    from tools.directory import Directory


class OnDemandDirectory:
    """A tools.directory.Directory opened at its first use (the tools close over it; most runs never call it)."""

    def __init__(self, open_directory: Callable[[], Directory]) -> None:
        self._open = open_directory
        self._directory: Directory | None = None

    @property
    def opened(self) -> Directory:
        if self._directory is None:
            self._directory = self._open()
        return self._directory

    @property
    def changes(self) -> int:  # writes through this process's directory (none until it is opened)
        return self._directory.changes if self._directory is not None else 0

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.opened, name)

    async def aclose(self) -> None:
        if self._directory is not None:
            await self._directory.aclose()


def approver_lookups(settings: Settings, directory: OnDemandDirectory) -> ApproverLookups:
    """Who may decide, read now: from the embedded store's snapshot file, or from the remote SCIM server. The
    sample data is read (and checked) either way, as opening the directory does."""
    if settings.scim_url:
        return directory.opened
    path = settings.sample_data / "directory.yaml"
    data = load_directory_data(path)

    async def seed() -> None:  # a new data folder: the embedded SCIM server writes the first snapshot
        await directory.opened.ping()

    return SnapshotDirectory(
        settings.data_dir / SNAPSHOT_NAME, groups_meta=data.groups, seed=seed, seed_digest=file_digest(path)
    )
