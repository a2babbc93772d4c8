"""`deskhand eval`: run the eval suites against the real agent, write the reports and apply the gate."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.logging import RichHandler

from evals import llm_mode
from evals import report as rep
from evals.cases import SHARED_CORPORA, SUITES, DatasetError
from evals.cli import DESCRIPTION, EXIT_GATE, EXIT_OK, EXIT_USAGE  # noqa: F401  (re-exported)
from evals.gate import GateFileError, baseline_payload, evaluate, flat_metrics, load_baseline, load_thresholds
from evals.harness import EvalEnv, OpenRuntime
from evals.report_html import write_html
from evals.runner import Options, eval_settings, fast_view, plan, progress_bar, run


def options_from(args: argparse.Namespace) -> Options:
    return Options(
        suites=list(dict.fromkeys(args.suite or SUITES)),
        tags=list(args.tag),
        limit=args.limit,
        jobs=max(1, args.jobs),
        fast=bool(args.fast),
        corpus=args.corpus,
        dataset=args.dataset,
        shared_corpora=getattr(args, "shared_corpora", None) or SHARED_CORPORA,
    )


def command(
    args: argparse.Namespace,
    settings_fn: Callable[[argparse.Namespace], Any],
    open_runtime: OpenRuntime,
    console: Console | None = None,
) -> int:
    console = console or Console(stderr=True)
    options = options_from(args)
    if args.dataset is not None and args.corpus is None:
        console.print("[red]deskhand eval:[/] --dataset needs --corpus DIR")
        return EXIT_USAGE
    if args.update_baseline and (options.partial or options.fast or args.suite):
        console.print(
            "[red]deskhand eval:[/] --update-baseline needs a full run (no --suite, --tag, --limit, --fast or --corpus)"
        )
        return EXIT_USAGE
    try:
        plans = plan(options)
        thresholds, baseline = load_thresholds(args.thresholds), load_baseline(args.baseline)
    except (DatasetError, GateFileError) as exc:
        console.print(f"[red]deskhand eval:[/] {exc}")
        return EXIT_USAGE
    settings = eval_settings(settings_fn(args))
    _quiet_logs(console)
    started, clock = datetime.now(UTC).isoformat(timespec="seconds"), time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="deskhand-eval-"))
    env = EvalEnv(settings, open_runtime, work, args.cache or Path(settings.cache_dir) / "eval")
    env.usage.model = getattr(settings, "llm_model", None)
    try:
        with progress_bar(console) as progress:
            suites = asyncio.run(run(env, plans, options, progress))
    except DatasetError as exc:
        console.print(f"[red]deskhand eval:[/] {exc}")
        return EXIT_USAGE
    finally:
        shutil.rmtree(work, ignore_errors=True)
    env.usage.turns = sum(len(s.turns) for s in suites)
    llm_run = None
    if getattr(args, "llm", False):
        llm_run = _run_llm_mode(settings, open_runtime, options, plans, args, console)
    if args.update_baseline:
        payload = baseline_payload(suites, fast_view(suites))
        args.baseline.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        baseline = load_baseline(args.baseline)
        console.print(f"baseline written to {args.baseline}")
    comparable = options.baseline_metrics(baseline)
    breaches = evaluate(suites, thresholds, comparable)
    report = rep.build(
        suites,
        usage=env.usage,
        thresholds=thresholds,
        baseline=comparable or {},
        breaches=breaches,
        options={**vars(options), "partial": options.partial},
        seconds=time.perf_counter() - clock,
        started=started,
    )
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    if llm_run is not None:
        report["llm_mode"] = {
            "model": llm_mode.SCRIPTED_MODEL,
            "requests": llm_run.requests,
            "personal_values_sent": llm_run.leaks,
            "metrics": flat_metrics(llm_run.suites),
        }
    rep.write_json(report, out / "report.json")
    rep.write_markdown(report, suites, out / "report.md")
    write_html(report, suites, thresholds, out)
    rep.print_summary(report, suites, console)
    if llm_run is not None:
        with (out / "report.md").open("a", encoding="utf-8") as md:
            md.write("\n" + llm_mode.markdown(suites, llm_run))
        llm_mode.print_side_by_side(suites, llm_run, console)
        if llm_run.leaks:
            return EXIT_GATE
    console.print(f"reports in {out}/ (report.html, report.md, report.json) · {report['seconds']} s")
    return EXIT_GATE if breaches else EXIT_OK


def _run_llm_mode(
    settings: Any, open_runtime: OpenRuntime, options: Options, plans: Any, args: argparse.Namespace, console: Console
) -> llm_mode.LLMRun:
    """The same suites in LLM mode against the scripted server started in this process."""

    async def go() -> llm_mode.LLMRun:
        async with llm_mode.scripted_server() as server:
            run_env = EvalEnv(
                llm_mode.llm_settings(settings, server),
                open_runtime,
                work,
                args.cache or Path(settings.cache_dir) / "eval",
            )
            run_env.usage.model = llm_mode.SCRIPTED_MODEL
            with progress_bar(console) as progress:
                result = llm_mode.LLMRun(suites=await run(run_env, plans, options, progress))
            result.requests, result.leaks = llm_mode.check_requests(
                server, llm_mode.personal_values(Path(settings.sample_data))
            )
            return result

    work = Path(tempfile.mkdtemp(prefix="deskhand-eval-llm-"))
    try:
        return asyncio.run(go())
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _quiet_logs(console: Console) -> None:
    """Warnings and errors from the agent print above the progress bar instead of through it."""
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(RichHandler(console=console, level=logging.WARNING, show_path=False))
        root.setLevel(logging.WARNING)
