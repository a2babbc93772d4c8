"""`deskhand approvals list|show|decide`.

`list` and `show` read the approvals table directly: no model, no directory, no agent, no Alembic when the
schema is current, so they answer in well under a second. `decide` opens the agent (a decision may execute
the action and tell the requester), except for an id that does not exist, which is refused at once.
Expiry is the worker's and the server's job: these commands only mark an overdue request as such.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot.settings import Settings

if TYPE_CHECKING:
    from graphs.governance.approvals import Approval, ApprovalStore

STATUSES = ["pending", "approved", "executing", "rejected", "expired", "executed", "failed", "cancelled", "all"]


@contextmanager
def open_store(settings: Settings) -> Iterator[ApprovalStore]:
    """The approvals table alone (SQLite upgraded in place when behind; PostgreSQL must be at head)."""
    from bot.cli_db import ensure_schema
    from graphs.governance.approvals import ApprovalStore
    from tools.storage.db import build_engine, build_sessionmaker

    engine = build_engine(settings.resolved_database_url)
    try:
        ensure_schema(engine)
        yield ApprovalStore(build_sessionmaker(engine))
    finally:
        engine.dispose()


def masked_fields() -> dict[str, frozenset[str]]:
    """Which arguments each tool masks on approval cards (bank numbers). The specs are built without live
    clients: their factories only close over them, and the tool modules import no client library."""
    from tools.catalog import build_tools
    from tools.tool_env import ToolEnv

    specs = build_tools(ToolEnv(None, None, None))  # type: ignore[arg-type]
    return {name: spec.masked_fields for name, spec in specs.items() if spec.masked_fields}


def approval_json(approval: Approval, masked: dict[str, frozenset[str]], now: datetime) -> dict[str, Any]:
    """What `show` and `list --json` print: the channel view (bank numbers masked, an unreachable quorum
    noted) plus the true stored state ("executing" stays "executing") and the execution attempts."""
    from graphs.eligibility import unreachable, unreachable_note
    from graphs.governance.approvals import ApprovalStore

    view = ApprovalStore.to_view(approval)
    if unreachable(approval):
        view = replace(view, reason=view.reason + unreachable_note(approval))
    arguments = dict(view.arguments)
    for name in masked.get(approval.tool, frozenset()):
        value = arguments.get(name)
        if isinstance(value, str) and value:
            arguments[name] = "••••" + value.replace(" ", "")[-4:]
    data: dict[str, Any] = json.loads(json.dumps(asdict(replace(view, arguments=arguments)), default=str))
    data["result"] = approval.result
    data["status"] = approval.status
    data["attempts"] = approval.attempts
    data["overdue"] = approval.status == "pending" and approval.expires_at <= now
    return data


def print_approvals(items: list[Any], now: datetime | None = None) -> None:
    if not items:
        print("No approvals.")
        return
    moment = now or datetime.now(UTC)
    for a in items:
        due = "overdue since" if a.status == "pending" and a.expires_at <= moment else "expires"
        print(f"{a.id}  {a.status:<9} {a.mode:<9} {a.requester:<28} {a.title}  ({due} {a.expires_at:%Y-%m-%d %H:%M})")


def _read(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "decide" and not args.approve and not (args.comment or "").strip():
        print("deskhand: --reject needs --reason TEXT (the requester is told why)", file=sys.stderr)
        return 2
    now = datetime.now(UTC)
    with open_store(settings) as store:
        if args.action == "list":
            items = store.list(None if args.status == "all" else args.status)
            if args.json:
                masked = masked_fields()
                print(json.dumps([approval_json(a, masked, now) for a in items]))
            else:
                print_approvals(items, now)
            return 0
        approval = store.get(args.id)
        if approval is None:
            print(f"deskhand: no approval {args.id}", file=sys.stderr)
            return 1
        if args.action == "show":
            print(json.dumps(approval_json(approval, masked_fields(), now), indent=2))
            return 0
    return _decide(args, settings)  # the approval exists: deciding needs the agent


def _decide(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli_agent import _expected_errors, _fail, _identify, _runtime

    async def run() -> int:
        async with _runtime(settings, lazy_models=True) as rt:  # the model loads only if a turn needs it
            await rt.agent.expire_due()
            outcome = await rt.agent.decide(args.id, await _identify(rt, args.as_), args.approve, args.comment or "")
            view = outcome.approval
            status = view.status if view else None
            print(json.dumps({"accepted": outcome.accepted, "message": outcome.message, "status": status}))
            return 0 if outcome.accepted else 1

    try:
        return asyncio.run(run())
    except _expected_errors() as exc:
        return _fail(exc)


def cmd_approvals(args: argparse.Namespace, settings_fn: Callable[[argparse.Namespace], Settings]) -> int:
    return _read(args, settings_fn(args))


def register(
    sub: Any,
    settings_fn: Callable[[argparse.Namespace], Settings],
    add_common: Callable[[argparse.ArgumentParser], None],
) -> None:
    p = sub.add_parser(
        "approvals",
        help="list, show and decide approval requests",
        description="`list` and `show` read the approval records directly and print the true state "
        "(`executing` while an approved action runs); an overdue pending request is marked overdue until the "
        "worker or server expires it. `decide` records an approver's decision and, once enough approvers "
        "agreed, runs the action.",
    )
    asub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    q = asub.add_parser("list", help="list approvals (newest first)")
    q.add_argument("--status", default="pending", choices=STATUSES, help="which state to list (default: pending)")
    q.add_argument("--json", action="store_true", help="print a JSON list (as `show` prints one approval)")
    q = asub.add_parser("show", help="show one approval as JSON")
    q.add_argument("id")
    q = asub.add_parser(
        "decide",
        help="approve or reject as an approver",
        description="Approve (optionally with --comment) or reject (with --reason, required) as an approver; "
        "the requester is told the outcome with the comment or reason, and the audit entry keeps it.",
    )
    q.add_argument("id")
    q.add_argument("--as", dest="as_", required=True, metavar="EMAIL", help="the approver's e-mail")
    g = q.add_mutually_exclusive_group(required=True)
    g.add_argument("--approve", dest="approve", action="store_true")
    g.add_argument("--reject", dest="approve", action="store_false")
    q.add_argument(
        "--comment", "--reason", dest="comment", default="", help="why (required with --reject; optional otherwise)"
    )
    add_common(p)
    p.set_defaults(func=lambda a: cmd_approvals(a, settings_fn))
