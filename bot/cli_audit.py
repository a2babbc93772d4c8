"""`deskhand audit verify|anchor|tail`: check the keyed hash chain (against anchors and the approval
records), record its head outside the database, and show its latest entries."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.cli_audit_export import register_export

if TYPE_CHECKING:  # imported when a command runs: `deskhand --help` stays quick
    from bot.settings import Settings
    from graphs.governance.audit import AuditLog, Entry


def register(subparsers: Any, load_settings_fn: Callable[[], Settings]) -> None:
    audit = subparsers.add_parser(
        "audit",
        help="check or show the tamper-evident audit log",
        description="Every answer, tool call, policy decision, approval decision and execution is recorded "
        "in a hash chain keyed with DESKHAND_AUDIT_KEY: each entry carries an HMAC over itself and the "
        "previous entry's hash. Every minute the worker (or `deskhand serve` on the embedded SQLite default) "
        "appends the head to an anchor file outside the database when it changed, so removing the newest "
        "entries is detectable too.",
    )
    sub = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    verify = sub.add_parser(
        "verify",
        help="check the chain, the anchors and the approval records; exit 1 on any edit, cut or gap",
        description="Walks the whole chain (edits, deletions, re-hashing without the key), compares it with "
        "every anchored head (truncation), and checks that each approval request, decision and execution "
        "has its audit entry. Exit 0 when all hold, 1 otherwise.",
    )
    verify.add_argument(
        "--anchor",
        metavar="FILE",
        type=Path,
        help="anchor file to check against (default: DESKHAND_AUDIT_ANCHOR_FILE or "
        "DATA_DIR/audit-anchor.jsonl, when it exists)",
    )
    verify.set_defaults(func=lambda args: cmd_verify(load_settings_fn(), args.anchor))
    anchor = sub.add_parser("anchor", help="append the chain's current head to the anchor file now")
    anchor.add_argument("--file", metavar="FILE", type=Path, help="anchor file (default as for verify)")
    anchor.set_defaults(func=lambda args: cmd_anchor(load_settings_fn(), args.file))
    tail = sub.add_parser("tail", help="show the latest entries")
    tail.add_argument("-n", type=int, default=20, metavar="N", help="how many entries (default 20)")
    tail.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    tail.set_defaults(func=lambda args: cmd_tail(load_settings_fn(), args.n, args.json))
    register_export(sub, load_settings_fn)


@contextmanager
def _open_log(settings: Settings) -> Iterator[AuditLog]:
    from bot.cli_db import ensure_schema
    from graphs.governance.audit import AuditLog
    from tools.storage.db import build_engine, build_sessionmaker

    engine = build_engine(settings.resolved_database_url)
    try:
        ensure_schema(engine)  # no Alembic import when the schema is current
        sessions = build_sessionmaker(engine)
        key = settings.audit_key_bytes
        yield AuditLog(sessions, key) if key else AuditLog(sessions)
    finally:
        engine.dispose()


def cmd_verify(settings: Settings, anchor: Path | None = None) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from graphs.governance.audit_anchor import AnchorError, read_anchors
    from graphs.governance.audit_check import find_gaps

    path = anchor or settings.resolved_audit_anchor_file
    try:
        anchors = read_anchors(path) if anchor is not None or path.exists() else {}
    except AnchorError as exc:
        print(f"deskhand: {exc}", file=sys.stderr)
        return 2
    try:
        with _open_log(settings) as log:
            result = log.verify(anchors)
            gaps = find_gaps(log.sessions)
    except SQLAlchemyError as exc:
        return _database_problem(exc)
    if not result.ok:
        print(
            f"Audit log BROKEN at entry {result.first_bad_seq}: {result.problem} "
            f"({result.checked:,} entries before it verified)."
        )
        return 1
    against = f" against {len(anchors)} anchor(s) in {path}" if anchors else " (no anchor file: truncation unchecked)"
    print(f"Audit log chain OK: {result.checked:,} entries verified{against}. Head hash {result.head_hash}.")
    if gaps:
        print(f"Audit log INCOMPLETE: {len(gaps)} state change(s) without their audit entry:")
        for gap in gaps:
            print(f"  - {gap}")
        return 1
    print("Every approval request, decision and execution has its audit entry.")
    return 0


def cmd_anchor(settings: Settings, file: Path | None) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from graphs.governance.audit_anchor import write_anchor

    path = file or settings.resolved_audit_anchor_file
    try:
        with _open_log(settings) as log:
            written = write_anchor(log, path)
    except SQLAlchemyError as exc:
        return _database_problem(exc)
    except OSError as exc:
        print(f"deskhand: cannot write the anchor file {path} ({type(exc).__name__})", file=sys.stderr)
        return 2
    print(f"Anchored entry {written[0]} in {path}." if written else f"Nothing new to anchor in {path}.")
    return 0


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
