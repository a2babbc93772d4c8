"""`deskhand audit export --since … --format jsonl`: the audit log as JSON lines for a SIEM."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.settings import Settings


BATCH = 1000
_RELATIVE = re.compile(r"^(\d+)([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """An ISO date or date-time (UTC unless it says otherwise), or a duration back from now: 30m, 24h, 7d."""
    from graphs.governance.audit import as_utc

    value = text.strip()
    match = _RELATIVE.match(value)
    if match:
        return (now or datetime.now(UTC)) - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"--since {value!r}: use an ISO date/time (2026-11-01T00:00Z) or 30m, 24h, 7d") from None
    return as_utc(moment)


def iter_entries(sessions: Any, since: datetime, until: datetime | None) -> Iterator[dict[str, Any]]:
    """Entries at or after `since` (before `until`), in chain order, read in batches by sequence number."""
    from sqlalchemy import select

    from graphs.governance.audit import AuditRow, as_utc

    last = 0
    while True:
        query = select(AuditRow).where(AuditRow.seq > last, AuditRow.at >= since).order_by(AuditRow.seq).limit(BATCH)
        if until is not None:
            query = query.where(AuditRow.at < until)
        with sessions() as session:
            rows = list(session.execute(query).scalars())
        if not rows:
            return
        for row in rows:
            yield {
                "seq": row.seq,
                "id": row.id,
                "at": as_utc(row.at).isoformat(),
                "kind": row.kind,
                "actor": row.actor,
                "request_id": row.request_id,
                "policy_version": row.policy_version,
                "payload": json.loads(row.payload),
                "prev_hash": row.prev_hash,
                "hash": row.hash,
            }
        last = rows[-1].seq


def cmd_export(settings: Settings, since_text: str, until_text: str | None, out: IO[str]) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from tools.storage.db import build_engine, build_sessionmaker

    try:
        since = parse_since(since_text)
        until = parse_since(until_text) if until_text else None
    except ValueError as exc:
        print(f"deskhand: {exc}", file=sys.stderr)
        return 2
    from bot.cli_db import prepare_schema

    engine = build_engine(settings.resolved_database_url)
    try:
        prepare_schema(engine)
        count = 0
        for entry in iter_entries(build_sessionmaker(engine), since, until):
            out.write(json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n")
            count += 1
        out.flush()
    except SQLAlchemyError as exc:
        print(f"deskhand: cannot read the audit log ({type(exc).__name__}); check DATABASE_URL.", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    print(f"exported {count} audit entries", file=sys.stderr)
    return 0


def register_export(sub: Any, load_settings_fn: Callable[[], Settings]) -> None:
    """Add `export` to the `deskhand audit` sub-commands."""
    export = sub.add_parser(
        "export",
        help="write entries since a time as JSON lines (for a SIEM)",
        description="One JSON object per line, oldest first, with the chain fields (seq, prev_hash, hash) so "
        "the receiver can check continuity. Diagnostics go to stderr, entries to stdout.",
    )
    export.add_argument("--since", required=True, metavar="WHEN", help="ISO date/time, or 30m, 24h, 7d back from now")
    export.add_argument("--until", metavar="WHEN", help="stop before this time (same forms as --since)")
    export.add_argument("--format", choices=["jsonl"], default="jsonl", help="output format (jsonl)")
    export.set_defaults(func=lambda args: cmd_export(load_settings_fn(), args.since, args.until, sys.stdout))
