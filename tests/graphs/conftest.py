"""Fixtures for the agent-layer tests: migrated SQLite files and schemas in the local PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from tools.storage.db import build_engine, build_sessionmaker, migrate

PG_URL = os.environ.get("DESKHAND_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/deskhand_test")


def _ensure_database(url: str) -> None:
    """Create the test database on first use (the local server trusts local connections)."""
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    base, _, name = plain.split("?", 1)[0].rpartition("/")
    try:
        psycopg.connect(plain, connect_timeout=5).close()
        return
    except psycopg.OperationalError as exc:
        if "does not exist" not in str(exc):
            raise
    with (
        psycopg.connect(f"{base}/postgres", autocommit=True, connect_timeout=5) as conn,
        contextlib.suppress(psycopg.errors.DuplicateDatabase),  # a concurrent run created it
    ):
        conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def pg_database() -> str:
    _ensure_database(PG_URL)
    return PG_URL


def with_search_path(url: str, schema: str) -> str:
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture
def pg_url(pg_database: str) -> Iterator[str]:
    """A URL whose connections live in a fresh schema, dropped afterwards."""
    schema = f"t_graphs_{secrets.token_hex(5)}"
    admin = build_engine(pg_database)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield with_search_path(pg_database, schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'deskhand.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs once on a SQLite file and once on PostgreSQL."""
    name = "sqlite_url" if request.param == "sqlite" else "pg_url"
    return str(request.getfixturevalue(name))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = build_engine(db_url)
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return build_sessionmaker(engine)


@dataclass
class StaticDirectory:
    """The approver look-ups of the policy, over a fixed slice of the sample company."""

    members: dict[str, list[str]] = field(default_factory=dict)
    owners: dict[str, list[str]] = field(default_factory=dict)
    managers: dict[str, str] = field(default_factory=dict)
    deactivated: set[str] = field(default_factory=set)
    calls: list[tuple[str, str]] = field(default_factory=list)

    async def group_members(self, group: str) -> list[str]:
        self.calls.append(("members", group))
        return list(self.members.get(group, []))

    async def group_owners(self, group: str) -> list[str]:
        self.calls.append(("owners", group))
        return list(self.owners.get(group, []))

    async def manager_of(self, email: str) -> str | None:
        self.calls.append(("manager", email))
        return self.managers.get(email)

    async def inactive(self, emails: Iterable[str]) -> set[str]:
        return {e for e in emails if e in self.deactivated}


def person(first: str) -> str:
    """The sample company's e-mail for a first name (the tests spell people by first name)."""
    names = {
        "alice": "alice.nguyen",
        "bob": "bob.martin",
        "carol": "carol.diaz",
        "dan": "dan.okafor",
        "erin": "erin.walsh",
        "frank": "frank.li",
        "grace": "grace.kim",
        "hector": "hector.ruiz",
        "kate": "kate.novak",
        "noah": "noah.schmidt",
        "olivia": "olivia.rossi",
        "victor": "victor.hale",
        "maya": "maya.patel",
    }
    return f"{names[first]}@example.com"


@pytest.fixture
def make_directory() -> type[StaticDirectory]:
    return StaticDirectory


@pytest.fixture
def directory() -> StaticDirectory:
    p = person
    return StaticDirectory(
        members={
            "ap-leads": [p("carol"), p("dan")],
            "ap-team": [p("carol"), p("dan"), p("hector")],
            "it-admins": [p("victor"), p("alice"), p("noah")],
            "hr": [p("grace"), p("olivia")],
            "engineering": [p("frank"), p("bob"), p("maya")],
            "vpn-users": [p("alice"), p("bob")],
            "finance": [p("kate"), p("erin"), p("carol")],
        },
        owners={
            "ap-leads": [p("kate")],
            "ap-team": [p("carol"), p("dan")],
            "it-admins": [p("alice")],
            "hr": [p("grace")],
            "engineering": [p("frank")],
            "vpn-users": [p("alice")],
            "finance": [p("erin")],
        },
        managers={
            p("bob"): p("frank"),
            p("carol"): p("erin"),
            p("dan"): p("erin"),
            p("hector"): p("carol"),
            p("alice"): p("victor"),
            p("grace"): "rosa.alvarez@example.com",
        },
    )
