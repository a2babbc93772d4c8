"""The `deskhand teams-package` command: build the Teams app package for the configured bot."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

from channels.teams.package import build_teams_package

DEFAULT_OUT = Path("deskhand-teams.zip")


def register(subparsers: Any, load_settings_fn: Callable[[], Any]) -> None:
    """Add `teams-package [--out FILE] [--host HOST] [--name NAME]`; the parsed args' `func(args)`
    returns the exit code."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "teams-package",
        help="build the Teams app package (manifest + icons, zipped) for sideloading",
        description="Build the Teams app package for the bot registered as MICROSOFT_APP_ID.",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"zip file to write (default {DEFAULT_OUT})")
    parser.add_argument("--host", help="public host name serving /api/messages, e.g. deskhand.example.com")
    parser.add_argument("--name", default="Deskhand", help="app name shown in Teams (max 30 characters)")

    def run(args: argparse.Namespace) -> int:
        app_id = load_settings_fn().teams.app_id
        if not app_id:
            print(
                "MICROSOFT_APP_ID is not set: register the bot in Azure first and set its app id "
                "(see the Teams section of the README).",
                file=sys.stderr,
            )
            return 2
        try:
            out = build_teams_package(args.out, app_id=app_id, name=args.name, host=args.host, version=_version())
        except ValueError as exc:  # our own messages: what to fix, never a secret
            print(f"cannot build the Teams package: {exc}", file=sys.stderr)
            return 2
        print(f"wrote {out}: upload it in Teams (Apps > Manage your apps > Upload an app)")
        return 0

    parser.set_defaults(func=run)


def _version() -> str:
    """The package version in the x.y.z form Teams requires."""
    try:
        raw = package_version("deskhand")
    except PackageNotFoundError:
        return "1.0.0"
    parts = [p for p in raw.split("+")[0].split(".")[:3] if p.isdigit()]
    return ".".join(parts + ["0"] * (3 - len(parts)))
