"""`deskhand db upgrade|status`: bring the database schema (ours via Alembic, the job queue's) up to date.

On PostgreSQL nothing migrates silently: processes refuse to start on an old schema and name this
command. The embedded SQLite default still upgrades itself at start-up, so the quick start needs no step.
"""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError, ProgrammingError, SQLAlchemyError

from bot.settings import Settings, SettingsError
from tools.storage.db import MIGRATIONS, build_engine, migrate

UPGRADE_HINT = "run `deskhand db upgrade` (once per release, before starting the new web and worker processes)"


class DatabaseNotUpgraded(SettingsError):
    """The PostgreSQL schema is older than the code; the message names the command that fixes it."""


def _revisions(engine: Engine) -> tuple[str | None, str | None]:
    """(the database's revision, the code's head revision)."""
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    return current, head


def head_revision() -> str:
    """The code's head revision, read from the migration files' `revision`/`down_revision` lines without
    importing Alembic (a quick command saves most of a second; a test pins it to Alembic's own answer)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        found = re.search(r"^revision\s*=\s*[\"']([^\"']+)[\"']", text, re.MULTILINE)
        parent = re.search(r"^down_revision\s*=\s*[\"']([^\"']+)[\"']", text, re.MULTILINE)
        if found:
            revisions.add(found.group(1))
        if parent:
            parents.add(parent.group(1))
    heads = revisions - parents
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads: {sorted(heads)}")
    return heads.pop()


def ensure_schema(engine: Engine) -> None:
    """Like `prepare_schema`, but a database already at the head is recognised with one query and no
    Alembic import: what the quick read commands (`approvals list`, `audit verify`…) use."""
    try:
        with engine.connect() as conn:
            current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except ProgrammingError:  # PostgreSQL without our tables: the full path names the command to run
        current = None
    except OperationalError:  # SQLite without the table (a new file) is upgraded below; a down server is not
        if engine.dialect.name != "sqlite":
            raise
        current = None
    if current is None or current != head_revision():
        prepare_schema(engine)


def prepare_schema(engine: Engine) -> None:
    """At start-up: SQLite is upgraded in place; PostgreSQL must already be at the head revision."""
    if engine.dialect.name == "sqlite":
        migrate(engine)
        return
    current, head = _revisions(engine)
    if current != head:
        raise DatabaseNotUpgraded(
            f"the database schema is at revision {current or 'none'}, this release needs {head}: {UPGRADE_HINT}"
        )


async def _queue_schema(url: str, apply: bool) -> str:
    """ "present", "missing" or (with `apply`, when they were missing) "created": procrastinate's tables."""
    from bot.queue import build_procrastinate_app, schema_present

    app = build_procrastinate_app(url, max_pool=1)
    async with app.open_async():
        if await schema_present(app):
            return "present"
        if not apply:
            return "missing"
        await app.schema_manager.apply_schema_async()
        return "created"


async def _checkpoint_tables(url: str) -> None:
    """LangGraph's PostgreSQL checkpoint tables (its own versioned migrations; idempotent)."""
    from pathlib import Path

    from graphs.checkpoint import open_checkpointer

    async with open_checkpointer(url, Path("unused.sqlite"), setup=True):
        pass


def upgrade(url: str) -> list[str]:
    """Upgrade our tables and (PostgreSQL) create the job queue's; returns what was done, for printing."""
    from bot.queue import is_postgres

    engine = build_engine(url)
    try:
        before, head = _revisions(engine)
        migrate(engine)
    finally:
        engine.dispose()
    done = [f"schema: {before or 'empty'} → {head}" if before != head else f"schema: already at {head}"]
    if is_postgres(url):
        asyncio.run(_checkpoint_tables(url))
        done.append("checkpoint tables: up to date")
        done.append(f"job queue tables: {asyncio.run(_queue_schema(url, apply=True))}")
    return done


def cmd_upgrade(settings: Settings) -> int:
    try:
        for line in upgrade(settings.resolved_database_url):
            print(line)
    except (SQLAlchemyError, OSError) as exc:
        print(f"deskhand: database upgrade failed ({type(exc).__name__}); check DATABASE_URL.", file=sys.stderr)
        return 2
    return 0


def cmd_status(settings: Settings) -> int:
    from bot.queue import is_postgres

    url = settings.resolved_database_url
    engine = build_engine(url)
    try:
        current, head = _revisions(engine)
        queue = asyncio.run(_queue_schema(url, apply=False)) if is_postgres(url) else None
    except (SQLAlchemyError, OSError) as exc:
        print(f"deskhand: cannot read the database ({type(exc).__name__}); check DATABASE_URL.", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    print(f"schema revision: {current or 'none'} (this release: {head})")
    if queue is not None:
        print(f"job queue tables: {queue}")
    ok = current == head and queue in (None, "present")
    if not ok:
        print(UPGRADE_HINT)
    return 0 if ok else 1


def register(subparsers: Any, load_settings_fn: Callable[[], Settings]) -> None:
    db = subparsers.add_parser(
        "db",
        help="upgrade or inspect the database schema",
        description="Schema changes are explicit on PostgreSQL: run `deskhand db upgrade` once per release "
        "before starting the processes (they refuse to start on an old schema). The embedded SQLite "
        "database upgrades itself at start-up.",
    )
    sub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    up = sub.add_parser("upgrade", help="apply every pending migration and create the job queue's tables")
    up.set_defaults(func=lambda args: cmd_upgrade(load_settings_fn()))
    status = sub.add_parser("status", help="show the schema revision; exit 1 when an upgrade is needed")
    status.set_defaults(func=lambda args: cmd_status(load_settings_fn()))
