"""`deskhand eval`: the command-line options (the suites run in `evals.command`, imported on use)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evals.cases import SHARED_CORPORA, SUITES
from evals.gate import BASELINE, THRESHOLDS

EXIT_OK, EXIT_GATE, EXIT_USAGE = 0, 1, 2

DESCRIPTION = """Run the eval suites against the real agent (same composition as the server, embedded stores,
no network) and write report.md, report.json and report.html (with PNG charts) to --out. Exits 1 when a
metric is under its threshold in evals/thresholds.yaml or regressed from evals/baseline.json by more than
its allowed delta, naming the metric and its worst cases; 2 on a usage or dataset error."""


def register(subparsers: Any, settings_fn: Callable[[argparse.Namespace], Any], open_runtime: Any) -> None:
    """Add the `eval` command. `settings_fn(args)` loads the settings; `open_runtime` is bot.wiring's."""
    p = subparsers.add_parser("eval", help="run the eval suites and the release gate", description=DESCRIPTION)
    p.add_argument(
        "--out", type=Path, default=Path("eval-report"), metavar="DIR", help="report folder (default: eval-report/)"
    )
    p.add_argument(
        "--suite",
        action="append",
        choices=SUITES,
        metavar="NAME",
        help=f"run only this suite (repeatable): {', '.join(SUITES)}",
    )
    p.add_argument("--tag", action="append", default=[], metavar="TAG", help="only cases with this tag (repeatable)")
    p.add_argument("--limit", type=int, metavar="N", help="only the first N cases of each suite")
    p.add_argument("--jobs", type=int, default=1, metavar="N", help="cases run at once (default 1)")
    p.add_argument("--corpus", type=Path, metavar="DIR", help="run the knowledge suite over this folder ...")
    p.add_argument("--dataset", type=Path, metavar="FILE", help="... with these questions (knowledge.jsonl schema)")
    p.add_argument(
        "--shared-corpora",
        type=Path,
        default=SHARED_CORPORA,
        metavar="DIR",
        help="folder holding 18f-handbook/ and posthog-handbook/ (default: ../shared/corpora beside the repo)",
    )
    p.add_argument("--fast", action="store_true", help="CI mode: every second knowledge question, all other cases")
    p.add_argument(
        "--llm",
        action="store_true",
        help="also run the suites in LLM mode against the scripted OpenAI-compatible test server (in-process) "
        "and report both modes side by side; fails if a personal value reached the server",
    )
    p.add_argument("--update-baseline", action="store_true", help="write this full run's metrics to the baseline")
    p.add_argument("--cache", type=Path, metavar="DIR", help="index cache (default: DESKHAND_CACHE_DIR/eval)")
    p.add_argument("--thresholds", type=Path, default=THRESHOLDS, metavar="FILE", help=argparse.SUPPRESS)
    p.add_argument("--baseline", type=Path, default=BASELINE, metavar="FILE", help=argparse.SUPPRESS)
    p.set_defaults(func=lambda args: command(args, settings_fn, open_runtime))


def command(
    args: argparse.Namespace, settings_fn: Callable[[argparse.Namespace], Any], open_runtime: Any, **kwargs: Any
) -> int:
    from evals.command import command as run_command

    return run_command(args, settings_fn, open_runtime, **kwargs)
