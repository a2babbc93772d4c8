"""`deskhand handoffs list`: the saved hand-offs (a failed delivery stays here with its reference)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.settings import Settings


STATUSES = ("all", "pending", "posted", "ticketed", "contact", "failed")


def register(subparsers: Any, load_settings_fn: Callable[[], Settings]) -> None:
    p = subparsers.add_parser(
        "handoffs",
        help="list hand-offs to human teams (posted, ticketed, contact only, failed)",
        description="Every hand-off is saved before it is delivered; one whose delivery failed keeps "
        "status 'failed' and the reference the requester was given.",
    )
    sub = p.add_subparsers(dest="handoffs_command", metavar="ACTION", required=True)
    ls = sub.add_parser("list", help="the latest hand-offs, newest first")
    ls.add_argument("--status", choices=STATUSES, default="all", help="only this status (default all)")
    ls.add_argument("-n", type=int, default=50, metavar="N", help="how many (default 50)")
    ls.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    ls.set_defaults(func=lambda args: cmd_list(load_settings_fn(), args.status, args.n, args.json))


def cmd_list(settings: Settings, status: str, n: int, as_json: bool) -> int:
    from sqlalchemy.exc import SQLAlchemyError  # here, not at the top: `deskhand --help` stays quick

    from graphs.governance.audit import AuditLog
    from graphs.handoff_store import HandoffStore
    from tools.storage.db import build_engine, build_sessionmaker, migrate

    if n < 1:
        print("deskhand: -n must be at least 1", file=sys.stderr)
        return 2
    engine = build_engine(settings.resolved_database_url)
    try:
        migrate(engine)
        sessions = build_sessionmaker(engine)
        items = HandoffStore(sessions, AuditLog(sessions)).list(None if status == "all" else status, limit=n)
    except SQLAlchemyError as exc:
        print(f"deskhand: cannot read the database ({type(exc).__name__}); check DATABASE_URL", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    if not items:
        if not as_json:  # JSON lines: no hand-offs, no lines
            print("No hand-offs.")
        return 0
    for h in items:
        where = h.ticket_id or h.destination
        if as_json:
            row = {"id": h.id, "status": h.status, "team": h.team, "requester": h.requester, "where": where}
            print(json.dumps({**row, "question": h.question, "created_at": h.created_at.isoformat()}))
        else:
            when = h.created_at.strftime("%Y-%m-%d %H:%M")
            print(f"{h.id}  {when}  {h.status:<8}  {h.team:<16}  {where:<10}  {h.requester or '-'}: {h.question[:60]}")
    return 0
