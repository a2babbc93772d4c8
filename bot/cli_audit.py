"""`deskhand audit verify|tail`: check the hash-chained audit log and show its latest entries."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from bot.settings import Settings

if TYPE_CHECKING:  # imported when a command runs: `deskhand --help` stays quick
    from graphs.audit import AuditLog, Entry


def register(subparsers: Any, load_settings_fn: Callable[[], Settings]) -> None:
    audit = subparsers.add_parser(
        "audit",
        help="check or show the tamper-evident audit log",
        description="Every answer, tool call, policy decision, approval decision and execution is recorded "
        "in a hash chain: each entry carries the previous entry's hash.",
    )
    sub = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    verify = sub.add_parser("verify", help="check the whole chain; exit 1 if any entry was edited or deleted")
    verify.set_defaults(func=lambda args: cmd_verify(load_settings_fn()))
    tail = sub.add_parser("tail", help="show the latest entries")
    tail.add_argument("-n", type=int, default=20, metavar="N", help="how many entries (default 20)")
    tail.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    tail.set_defaults(func=lambda args: cmd_tail(load_settings_fn(), args.n, args.json))


@contextmanager
def _open_log(settings: Settings) -> Iterator[AuditLog]:
    from graphs.audit import AuditLog
    from tools.db import build_engine, build_sessionmaker, migrate

    engine = build_engine(settings.resolved_database_url)
    try:
        migrate(engine)
        yield AuditLog(build_sessionmaker(engine))
    finally:
        engine.dispose()


def cmd_verify(settings: Settings) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    try:
        with _open_log(settings) as log:
            result = log.verify()
    except SQLAlchemyError as exc:
        return _database_problem(exc)
    if result.ok:
        print(
            f"Audit log OK: {result.checked:,} entries verified. Head hash {result.head_hash} "
            "(keep a copy elsewhere to detect removal of the newest entries)."
        )
        return 0
    print(
        f"Audit log BROKEN at entry {result.first_bad_seq}: {result.problem} "
        f"({result.checked:,} entries before it verified)."
    )
    return 1


def cmd_tail(settings: Settings, n: int, as_json: bool) -> int:
    if n < 1:
        print("deskhand: -n must be at least 1", file=sys.stderr)
        return 2
    from sqlalchemy.exc import SQLAlchemyError

    try:
        with _open_log(settings) as log:
            entries = log.tail(n)
    except SQLAlchemyError as exc:
        return _database_problem(exc)
    except (ValueError, TypeError, KeyError) as exc:  # a row edited outside Deskhand (bad JSON, bad time)
        print(
            f"deskhand: an audit entry among the last {n} cannot be read ({type(exc).__name__}): the table was "
            "changed outside Deskhand; run `deskhand audit verify` to find where.",
            file=sys.stderr,
        )
        return 1
    if as_json:
        print(json.dumps([_as_dict(e) for e in entries], indent=2, ensure_ascii=False))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Audit log: last {len(entries)} entries (UTC; full hashes with --json)")
    table.add_column("seq", no_wrap=True, justify="right")
    table.add_column("at", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("actor", overflow="fold")
    table.add_column("request · details", overflow="fold", ratio=1)
    for e in entries:
        details = json.dumps(e.payload, ensure_ascii=False, separators=(", ", ": "))
        details = details if len(details) <= 200 else details[:199] + "…"
        table.add_row(
            str(e.seq),
            e.at.strftime("%m-%d %H:%M:%S"),
            e.kind,
            e.actor,
            f"{e.request_id} · {details}" if e.request_id else details,
        )
    console = Console()
    if not console.is_terminal:  # piped into a file or a pager: don't squeeze the table into 80 columns
        console = Console(width=max(console.width, 200))
    console.print(table)
    return 0


def _as_dict(e: Entry) -> dict[str, Any]:
    return {
        "seq": e.seq,
        "id": e.id,
        "at": e.at.isoformat(),
        "kind": e.kind,
        "actor": e.actor,
        "request_id": e.request_id,
        "policy_version": e.policy_version,
        "payload": e.payload,
        "prev_hash": e.prev_hash,
        "hash": e.hash,
    }


def _database_problem(exc: Exception) -> int:
    print(
        f"deskhand: cannot read the audit log ({type(exc).__name__}); check DATABASE_URL and that the "
        "database is reachable.",
        file=sys.stderr,
    )
    return 2
