"""Deskhand's command line: `deskhand --help` lists every command."""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.cli_logging import configure_cli_logging

if TYPE_CHECKING:  # pydantic-settings loads once a command runs, not for `--help` or a usage error
    from bot.settings import Settings

EPILOG = """Settings come from the environment and an optional .env file (see `deskhand config`).
Quick start: scripts/run.sh (terminal chat)  ·  scripts/test.sh (whole test suite)."""


def load_settings(**overrides: Any) -> Settings:
    from bot.settings import load_settings as load

    return load(**overrides)


def _settings(args: argparse.Namespace) -> Settings:
    from bot.settings import offline_runtime

    overrides: dict[str, Any] = {}
    if getattr(args, "index", None):
        overrides["index_dir"] = args.index
    settings = load_settings(**overrides)
    offline_runtime()
    return settings


def cmd_config(args: argparse.Namespace) -> int:
    from bot.settings import masked

    settings = _settings(args)
    print(json.dumps(masked(settings), indent=2, default=str))
    if getattr(args, "check", False):
        from bot.tool_check import check_configured  # imports every tool module: only when asked

        return check_configured(settings.policy_file)
    return 0


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--index", metavar="DIR", help="index directory (default: DESKHAND_INDEX_DIR or DATA_DIR/index)")


# Commands whose modules import heavy packages (aiohttp server, botbuilder, the eval harness): registered
# in full only when one of them is the command being run, so `--help` and the quick commands stay fast.
# The help line here is what `deskhand --help` lists; each module registers its own full parser.
HEAVY_COMMANDS = {
    "serve": "run the web server (Slack /slack/events, Teams /api/messages, /healthz, /readyz)",
    "worker": "run the background jobs (approval expiry, reminders, escalation, recovery, publishing CLI "
    "decisions, index builds)",
    "db": "apply or show the database schema (`db upgrade` once per release; `db status`)",
    "teams-package": "build the Teams app package (manifest + icons, zipped) for sideloading",
    "eval": "run the eval suites and the release gate",
}


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The whole CLI. `argv` (the command line about to be parsed) decides whether the heavy commands are
    registered in full (when one of them runs) or as one-line stubs for the command list."""
    from bot import cli_agent, cli_approvals, cli_audit, cli_handoffs, cli_index, cli_llm

    parser = argparse.ArgumentParser(
        prog="deskhand",
        description="Deskhand: answers HR/IT/AP questions with citations and runs provisioning and AP "
        "actions behind a risk policy with human approvals.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    p = sub.add_parser("config", help="print the effective configuration (secrets masked)")
    p.add_argument(
        "--check",
        action="store_true",
        help="also check that every tool has an intent and a risk-policy rule and that intents and rules name "
        "only tools (exit 2 naming what to add; start-up runs the same check)",
    )
    p.set_defaults(func=cmd_config)
    cli_index.register(sub, load_settings)
    cli_agent.register(sub, _settings, _add_common)
    cli_approvals.register(sub, _settings, _add_common)
    cli_audit.register(sub, load_settings)
    cli_handoffs.register(sub, load_settings)
    cli_llm.register(sub, _settings)
    words = sys.argv[1:] if argv is None else argv
    if any(name in words for name in HEAVY_COMMANDS):
        _optional_commands(sub)
    else:
        for name, help_text in HEAVY_COMMANDS.items():
            sub.add_parser(name, help=help_text, add_help=False)
    return parser


def _optional_commands(sub: Any) -> None:
    """Commands of the serving and evaluation packages (their heavy imports happen when they run)."""
    from bot import cli_db, cli_serve, worker
    from channels.teams import cli as teams_cli
    from evals import cli as evals_cli

    def open_runtime(*args: Any, **kwargs: Any) -> Any:
        from bot.wiring import open_runtime as opener  # imported only when a command runs

        return opener(*args, **kwargs)

    cli_serve.register(sub, _settings)
    worker.register(sub, _settings)
    cli_db.register(sub, load_settings)
    teams_cli.register(sub, load_settings)
    evals_cli.register(sub, _settings, open_runtime)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    from bot.settings import SettingsError

    func: Callable[[argparse.Namespace], int] = args.func
    log_file: Path | None = None
    try:
        if args.command != "serve":  # the server logs to its own stream (see bot.wiring)
            settings = load_settings()
            log_file = configure_cli_logging(settings.data_dir, settings.log_level)
        return int(func(args) or 0)
    except SettingsError as exc:
        print(f"deskhand: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`deskhand approvals show ID | head`): not an error of ours. Point stdout at
        # /dev/null so the interpreter's final flush does not fail again, and exit as a piped tool does.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE
    except Exception as exc:
        from bot.cli_serve import database_down, database_message

        if database_down(exc):
            # One line instead of a driver traceback; the URL is shown without its password.
            print(f"deskhand: {database_message(load_settings())}", file=sys.stderr)
            return 2
        # The last error boundary: details (with the traceback) in the log file, one line here.
        reference = secrets.token_hex(4).upper()  # the one reference format users see
        logging.getLogger("bot.cli").exception("unexpected error (reference %s)", reference)
        where = f"; details in {log_file}" if log_file else ""
        print(f"deskhand: unexpected error (reference {reference}){where}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
