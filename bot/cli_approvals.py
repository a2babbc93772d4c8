"""`deskhand approvals list|show|decide`.

`list` and `show` read the approvals table directly: no model, no directory, no agent, no Alembic when the
schema is current. `decide` adds the directory, the policy and the tools (bot.governance) and runs the
agent's own decision logic (graphs.deciding) without the model, the router or LangGraph: who may decide is
re-checked against the directory, the decision commits with its audit entry, and a decision that completes
the approval runs the action once (compare-and-set claim, idempotency key `approval:<id>`) and tells the
requester: in the terminal inbox here; in Slack or Teams through a publication the worker delivers, owed in
the decision's transaction (bot.publications). An id that does not exist is refused before any of that is
built. `list` and `show` only mark an overdue request as such; `decide` first expires overdue requests, as
the agent does.
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

if TYPE_CHECKING:
    from bot.settings import Settings
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
        return _decide(args, settings, store.sessions)  # the approval exists


def decide_errors() -> tuple[type[Exception], ...]:
    """Start-up failures of deciding (policy, sample data, directory), each shown as one clear line."""
    from graphs.governance.policy import PolicyError
    from tools.data_files import SampleDataError
    from tools.directory_types import DirectoryError

    return (PolicyError, SampleDataError, DirectoryError, FileNotFoundError)


def _decide(args: argparse.Namespace, settings: Settings, sessions: Any) -> int:
    from bot.governance import open_decisions
    from bot.publications import publishing

    async def run() -> int:
        async with open_decisions(settings, sessions) as deciding:
            capture = publishing(deciding.decisions)  # the chat channels' part is the worker's (owed with it)
            await deciding.decisions.expire_due()
            who = await deciding.identify(args.as_)
            capture.notices.clear()
            outcome = await deciding.decisions.decide(args.id, who, args.approve, args.comment or "")
            view = outcome.approval
            out = {"accepted": outcome.accepted, "message": outcome.message, "status": view.status if view else None}
            chat = await asyncio.to_thread(capture.note, args.id, settings.job_sweep_seconds)
            if chat:
                out["chat"] = chat
            print(json.dumps(out))
            return 0 if outcome.accepted else 1

    try:
        return asyncio.run(run())
    except decide_errors() as exc:
        print(f"deskhand: {exc}", file=sys.stderr)
        return 2


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
        "who may decide is checked against the directory now, and a decision that completes the approval runs "
        "the action once. The audit entry keeps the comment or reason. A requester in the terminal is told in "
        "its inbox at once; Slack and Teams (the requester, whoever joined the request, the approval's cards) "
        "are owed a publication committed with the decision, which `deskhand worker` (PostgreSQL) or "
        "`deskhand serve` (embedded database) delivers, retrying until it arrives. The printed `chat` line "
        "says whether such a process ran recently or nothing is delivered until one runs.",
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
