"""Runs `deskhand eval` in-process for the tests, with a fresh data folder."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path
from typing import Any

from rich.console import Console

from bot.settings import Settings, offline_runtime
from bot.wiring import open_runtime
from evals.cli import command, register

offline_runtime()


def run_eval(tmp: Path, *argv: str) -> tuple[int, str]:
    """Run `deskhand eval ARGV`; return (exit code, console text)."""
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    settings = Settings(data_dir=tmp / "data")
    register(sub, lambda _args: settings, open_runtime)
    args = parser.parse_args(["eval", *argv])
    out = io.StringIO()
    code = command(args, lambda _args: settings, open_runtime, console=Console(file=out, width=160))
    return code, out.getvalue()


def report(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "report.json").read_text())
