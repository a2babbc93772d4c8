"""The run's report: one JSON document, rendered as Markdown and a terminal summary (HTML: report_html)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table

from evals.gate import Breach, Threshold, flat_metrics, worst_cases
from evals.metrics import cost_per_1k_runs, latency_by_route
from evals.results import SuiteResult, Usage

PRICES = Path(__file__).resolve().parent / "prices.yaml"
MAX_LISTED_FAILURES = 40


def cost(usage: Usage, prices: Path = PRICES) -> dict[str, Any]:
    """Tokens and USD per 1,000 agent turns; zero for the offline engine, None when the price is unknown."""
    out: dict[str, Any] = {
        "model": usage.model or "offline",
        "llm_calls": usage.calls,
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "turns": usage.turns,
        "tokens_per_1k_runs": 0.0,
        "usd_per_1k_runs": "0",
    }
    if usage.model is None:
        return out
    table = (yaml.safe_load(prices.read_text(encoding="utf-8")) or {}).get("models", {})
    price = table.get(usage.model)
    tokens, usd = cost_per_1k_runs(
        usage.input_tokens,
        usage.output_tokens,
        usage.turns,
        Decimal(str(price["input"])) if price else Decimal(0),
        Decimal(str(price["output"])) if price else Decimal(0),
    )
    out.update(tokens_per_1k_runs=tokens, usd_per_1k_runs=str(usd) if price else None)
    return out


def build(
    suites: list[SuiteResult],
    *,
    usage: Usage,
    thresholds: dict[str, Threshold],
    baseline: dict[str, float],
    breaches: list[Breach],
    options: dict[str, Any],
    seconds: float,
    started: str,
) -> dict[str, Any]:
    turns = [(t.route, t.ms) for s in suites for t in s.turns]
    return {
        "deskhand_eval": 1,
        "started_at": started,
        "seconds": round(seconds, 1),
        "options": options,
        "gate": {
            "passed": not breaches,
            "breaches": [
                {
                    "metric": b.metric,
                    "value": b.value,
                    "kind": b.kind,
                    "message": b.message,
                    "worst": [{"id": i, "why": w} for i, w in b.worst],
                }
                for b in breaches
            ],
        },
        "metrics": flat_metrics(suites),
        "thresholds": {
            k: {"min": t.minimum, "max": t.maximum, "max_regression": t.max_regression} for k, t in thresholds.items()
        },
        "baseline": dict(baseline),  # the comparable baseline figures ({} for a --tag/--limit run)
        "latency": {
            "all": latency_by_route(turns),
            **{s.name: latency_by_route((t.route, t.ms) for t in s.turns) for s in suites if s.turns},
        },
        "cost": cost(usage),
        "suites": {
            s.name: {
                "skipped": s.skipped,
                "seconds": round(s.seconds, 1),
                "metrics": s.metrics,
                "notes": s.notes,
                "tables": s.tables,
                "failed": len(s.failed),
                "cases": [c.as_dict() for c in s.cases],
            }
            for s in suites
        },
    }


def write_json(report: dict[str, Any], path: Path) -> Path:
    path.write_text(json.dumps(report, indent=2, sort_keys=False, default=str) + "\n", encoding="utf-8")
    return path


def metric_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per measured metric: value, threshold, baseline, change and status."""
    breached = {b["metric"]: b["kind"] for b in report["gate"]["breaches"]}
    rows = []
    for name, value in report["metrics"].items():
        t = report["thresholds"].get(name)
        base = report["baseline"].get(name)
        limit = "" if t is None else (f"≥ {t['min']:g}" if t["min"] is not None else f"≤ {t['max']:g}")
        status = breached.get(name, "ok" if t else "")
        rows.append(
            {
                "metric": name,
                "value": value,
                "limit": limit,
                "baseline": base,
                "delta": None if base is None else round(value - base, 4),
                "status": status,
            }
        )
    return rows


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.0f}" if value.is_integer() and abs(value) >= 2 else f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value)


def write_markdown(report: dict[str, Any], suites: list[SuiteResult], path: Path) -> Path:
    gate = report["gate"]
    lines = [
        "# Deskhand eval report",
        "",
        f"Started {report['started_at']} · {report['seconds']} s · suites: "
        f"{', '.join(report['suites'])} · gate: **{'PASSED' if gate['passed'] else 'FAILED'}**",
        "",
    ]
    for b in gate["breaches"]:
        lines.append(f"- ❌ {b['message']}" + "".join(f"\n  - `{w['id']}` {w['why']}" for w in b["worst"]))
    lines += ["", "## Metrics", "", "| metric | value | gate | baseline | Δ | status |", "|---|---:|---|---:|---:|---|"]
    for r in metric_rows(report):
        lines.append(
            f"| {r['metric']} | {_fmt(r['value'])} | {r['limit']} | {_fmt(r['baseline'])} | "
            f"{_fmt(r['delta'])} | {r['status']} |"
        )
    lines += [
        "",
        "## Latency per route (ms per turn; reported, never gated)",
        "",
        "| route | turns | p50 | p95 |",
        "|---|---:|---:|---:|",
    ]
    for route, v in report["latency"]["all"].items():
        lines.append(f"| {route} | {v['n']} | {v['p50_ms']} | {v['p95_ms']} |")
    c = report["cost"]
    lines += [
        "",
        f"Tokens per 1,000 runs: {c['tokens_per_1k_runs']} · cost per 1,000 runs: "
        f"{'$' + c['usd_per_1k_runs'] if c['usd_per_1k_runs'] is not None else 'unknown price'} "
        f"(model: {c['model']})",
        "",
    ]
    for s in suites:
        lines += [f"## {s.name}", ""]
        if s.skipped:
            lines += [f"Skipped: {s.skipped}", ""]
            continue
        lines += [f"{len(s.cases)} cases, {len(s.failed)} failed, {s.seconds:.1f} s.", ""]
        lines += [f"> {note}" for note in s.notes]
        if s.failed:
            lines += ["", "| case | tags | why |", "|---|---|---|"]
            for case in s.failed[:MAX_LISTED_FAILURES]:
                why = case.detail.replace("|", "\\|").replace("\n", " ")
                lines.append(f"| `{case.id}` | {', '.join(case.tags)} | {why} |")
            if len(s.failed) > MAX_LISTED_FAILURES:
                lines.append(f"| … | | {len(s.failed) - MAX_LISTED_FAILURES} more in report.json |")
        if "confusion" in s.tables:
            lines += [
                "",
                "### Per-intent scores",
                "",
                "| intent | precision | recall | F1 | n |",
                "|---|---:|---:|---:|---:|",
            ]
            for label, v in s.tables["per_intent"].items():
                lines.append(f"| {label} | {v['precision']} | {v['recall']} | {v['f1']} | {v['support']} |")
        lines.append("")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def print_summary(report: dict[str, Any], suites: list[SuiteResult], console: Console) -> None:
    table = Table(title="Deskhand eval", show_lines=False)
    for col, justify in (
        ("metric", "left"),
        ("value", "right"),
        ("gate", "left"),
        ("baseline", "right"),
        ("Δ", "right"),
        ("", "left"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for r in metric_rows(report):
        mark = {"ok": "[green]ok[/]", "": ""}.get(r["status"], f"[bold red]{r['status']}[/]")
        table.add_row(r["metric"], _fmt(r["value"]), r["limit"], _fmt(r["baseline"]), _fmt(r["delta"]), mark)
    console.print(table)
    for s in suites:
        if s.skipped:
            console.print(f"[yellow]{s.name} skipped:[/] {s.skipped}")
    lat = report["latency"]["all"]
    if lat:
        console.print(
            "latency p50/p95 ms: " + ", ".join(f"{r} {v['p50_ms']:.0f}/{v['p95_ms']:.0f}" for r, v in lat.items())
        )
    for b in report["gate"]["breaches"]:
        console.print(f"[bold red]✗ {b['message']}[/]")
        for w in b["worst"]:
            console.print(f"    {w['id']}: {w['why']}")


__all__ = ["build", "metric_rows", "print_summary", "worst_cases", "write_json", "write_markdown"]
