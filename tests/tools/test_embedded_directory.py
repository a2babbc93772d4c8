"""The embedded directory (in-process scim2-server) persists in the data folder across instances."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import textwrap
from datetime import date
from pathlib import Path

import filelock
import pytest

from tools.data_files import SampleDataError
from tools.directory import Directory, build_directory
from tools.directory_data import DirectoryData
from tools.directory_types import DirectoryUnavailable
from tools.scim_calls import RetryPolicy

START = date(2026, 12, 7)
ROOT = Path(__file__).resolve().parents[2]


async def test_embedded_directory_is_seeded_and_persists_across_instances(
    tmp_path: Path, sample_data_dir: Path
) -> None:
    first = build_directory(None, None, tmp_path, sample_data_dir)
    try:
        assert await first.group_owners("ap-leads") == ["kate.novak@example.com"]
        await first.create_user(
            "Dana",
            "Reyes",
            "dana.reyes@example.com",
            "Finance",
            START,
            "erin.walsh@example.com",
            idempotency_key="embedded-1",
        )
        await first.add_to_group("dana.reyes@example.com", "finance")
        await first.deactivate_user("ethan.cole@example.com")
    finally:
        await first.aclose()
    snapshot = json.loads((tmp_path / "directory.json").read_text())
    assert snapshot["format"] == 1 and snapshot["generation"] >= 3

    second = build_directory(None, None, tmp_path, sample_data_dir)
    try:
        dana = await second.get("dana.reyes@example.com")
        assert dana is not None and dana.manager_email == "erin.walsh@example.com"
        assert "dana.reyes@example.com" in await second.group_members("finance")
        # Replaying the same request in a new process does not create a second Dana.
        again, created = await second.create_user(
            "Dana",
            "Reyes",
            "dana.reyes@example.com",
            "Finance",
            START,
            "erin.walsh@example.com",
            idempotency_key="embedded-1",
        )
        assert created and again.id == dana.id
        assert len([p for p in await second.known_people() if p.email == "dana.reyes@example.com"]) == 1
    finally:
        await second.aclose()


async def test_two_live_instances_see_each_others_writes(tmp_path: Path, sample_data_dir: Path) -> None:
    one = build_directory(None, None, tmp_path, sample_data_dir)
    two = build_directory(None, None, tmp_path, sample_data_dir)
    try:
        assert await one.get("bob.martin@example.com") is not None
        assert await two.get("bob.martin@example.com") is not None
        await one.add_to_group("tom.becker@example.com", "vpn-users")
        await two.add_to_group("hannah.wright@example.com", "vpn-users")  # must not drop Tom
        await one.create_user("Uma", "Singh", "uma.singh@example.com", "HR", START, None, idempotency_key="u")
        members = await two.group_members("vpn-users")
        assert {"tom.becker@example.com", "hannah.wright@example.com"} <= set(members)
        assert await two.get("uma.singh@example.com") is not None
    finally:
        await one.aclose()
        await two.aclose()


async def test_a_separate_process_and_a_live_instance_share_the_store(tmp_path: Path, sample_data_dir: Path) -> None:
    script = textwrap.dedent("""
        import asyncio, sys
        from pathlib import Path
        from tools.directory import build_directory

        async def main() -> None:
            d = build_directory(None, None, Path(sys.argv[1]), Path(sys.argv[2]))
            try:
                for group in ("vpn-users", "design", "sales"):
                    await d.add_to_group("tom.becker@example.com", group)
            finally:
                await d.aclose()

        asyncio.run(main())
    """)
    live = build_directory(None, None, tmp_path, sample_data_dir)
    try:
        await live.get("yuki.tanaka@example.com")  # seeds the store before the other process starts
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", script, str(tmp_path), str(sample_data_dir), cwd=ROOT
        )
        writes = 0
        while proc.returncode is None or writes < 2:  # keep writing for as long as the other process runs
            if writes % 2 == 0:
                await live.add_to_group("yuki.tanaka@example.com", "hr")
            else:
                await live.remove_from_group("yuki.tanaka@example.com", "hr")
            writes += 1
        assert await proc.wait() == 0
        await live.add_to_group("yuki.tanaka@example.com", "design")
        for group in ("vpn-users", "design", "sales"):
            assert "tom.becker@example.com" in await live.group_members(group)  # no write was lost
        assert "yuki.tanaka@example.com" in await live.group_members("design")
    finally:
        await live.aclose()


async def test_alternative_sample_data_folder(tmp_path: Path) -> None:
    data = tmp_path / "acme-data"
    data.mkdir()
    (data / "directory.yaml").write_text(
        textwrap.dedent("""
        people:
          - {given_name: Ada, family_name: Lovelace, email: ada@acme.example.org, title: CTO, department: R&D}
          - {given_name: Charles, family_name: Babbage, email: charles@acme.example.org, manager: ada@acme.example.org}
        groups:
          - {name: engines, display_name: Engines, owners: [ada@acme.example.org], members: [charles@acme.example.org]}
    """)
    )
    directory = build_directory(None, None, tmp_path / "state", data)
    try:
        assert [p.email for p in await directory.known_people()] == ["ada@acme.example.org", "charles@acme.example.org"]
        assert await directory.manager_of("charles@acme.example.org") == "ada@acme.example.org"
        assert await directory.group_owners("Engines") == ["ada@acme.example.org"]
        assert await directory.get("bob.martin@example.com") is None
        assert await directory.main_domain() == "acme.example.org"
    finally:
        await directory.aclose()


def test_invalid_directory_file_names_the_problem(tmp_path: Path, sample_data_dir: Path) -> None:
    shutil.copy(sample_data_dir / "ledger.yaml", tmp_path / "ledger.yaml")
    (tmp_path / "directory.yaml").write_text(
        "people:\n  - {given_name: A, family_name: B, email: a@example.net, manager: ghost@example.net}\n"
    )
    with pytest.raises(SampleDataError, match=r"manager ghost@example\.net of a@example\.net is not listed"):
        build_directory(None, None, tmp_path / "state", tmp_path)
    (tmp_path / "directory.yaml").write_text("people:\n  - {given_name: A, email: not-an-email}\n")
    with pytest.raises(SampleDataError) as caught:
        build_directory(None, None, tmp_path / "state", tmp_path)
    assert "people[0].family_name: Field required" in caught.value.message
    assert "people[0].email" in caught.value.message


async def test_a_locked_store_reports_unavailable_and_cancelled_waits_free_the_lock(
    tmp_path: Path, directory_data: DirectoryData
) -> None:
    from tools.scim_store import EMBEDDED_URL, EmbeddedScimTransport

    transport = EmbeddedScimTransport(tmp_path / "directory.json", directory_data, lock_timeout_s=0.3)
    directory = Directory(
        EMBEDDED_URL,
        groups_meta=directory_data.groups,
        transport=transport,
        retry=RetryPolicy(attempts=2, initial_wait_s=0.01, max_wait_s=0.02),
    )
    other_process = filelock.FileLock(str(tmp_path / "directory.json.lock"))  # its own descriptor
    try:
        assert await directory.get("bob.martin@example.com") is not None  # seeded
        with other_process:
            with pytest.raises(DirectoryUnavailable):
                await directory.add_to_group("tom.becker@example.com", "vpn-users")
            entered = asyncio.Event()
            acquire = transport._acquire_file_lock

            async def spied_acquire() -> None:
                entered.set()
                await acquire()

            transport._acquire_file_lock = spied_acquire  # type: ignore[method-assign]
            waiting = asyncio.ensure_future(directory.add_to_group("tom.becker@example.com", "design"))
            await asyncio.wait_for(entered.wait(), timeout=10)  # the write now waits for the file lock
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
        # The other process let go: our next write must get the lock (the cancelled wait did not keep it).
        assert await directory.add_to_group("tom.becker@example.com", "vpn-users") == (
            "Added Tom Becker (tom.becker@example.com) to VPN Users."
        )
        assert "tom.becker@example.com" not in await directory.group_members("design")
        # …and another process can still take it: nothing is left holding the lock.
        probe = filelock.FileLock(str(tmp_path / "directory.json.lock"), timeout=5)
        await asyncio.to_thread(probe.acquire)
        probe.release()
    finally:
        await directory.aclose()
