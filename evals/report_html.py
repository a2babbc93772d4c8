"""The HTML report: verdict, metric table, charts (PNG files next to it) and the failing cases per suite."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from evals.charts import confusion_chart, gate_chart, latency_chart, suite_chart
from evals.gate import Threshold
from evals.report import metric_rows
from evals.results import SuiteResult

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#263238;margin:0;background:#f5f7fa}
main{max-width:1160px;margin:0 auto;padding:24px 28px 60px}
h1{font-size:24px;margin:0 0 4px}
h2{font-size:18px;margin:32px 0 10px;border-bottom:1px solid #dde3ea;padding-bottom:4px}
.meta{color:#607d8b;margin-bottom:16px}
.verdict{display:inline-block;padding:3px 12px;border-radius:14px;font-weight:600;color:#fff}
.pass{background:#2e7d32}.fail{background:#c62828}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(210px,1fr));gap:12px;margin:16px 0}
.card{background:#fff;border:1px solid #dde3ea;border-left:5px solid #2e7d32;border-radius:8px;padding:8px 12px}
.card .k{color:#607d8b;font-size:12px;overflow-wrap:anywhere}
.card .v{font-size:22px;font-weight:600}.card.bad{border-left-color:#c62828}.card.bad .v{color:#c62828}
.card .t{color:#90a4ae;font-size:12px}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #dde3ea}
th,td{padding:5px 10px;border-bottom:1px solid #eef1f4;text-align:left;vertical-align:top}
th{background:#eef1f4;font-weight:600;font-size:13px}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.group td{background:#f5f7fa;font-weight:600;color:#455a64}
tr.bad td{background:#fdecea} .ok{color:#2e7d32;font-weight:600} .no{color:#c62828;font-weight:600}
.breach{background:#fdecea;border-left:4px solid #c62828;padding:6px 12px;margin:6px 0;border-radius:4px}
.breach ul{margin:4px 0 2px;padding-left:20px;font-size:13px}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(540px,1fr));gap:14px;align-items:start}
.charts img{width:100%;background:#fff;border:1px solid #dde3ea;border-radius:6px}
details{margin:8px 0} summary{cursor:pointer;font-weight:600} code{font-size:12px;white-space:nowrap}
.note{color:#546e7a;font-size:13px;margin:4px 0} .dim{color:#78909c}
"""

HEADLINES = (
    "knowledge.hit_at_5",
    "knowledge.fact_recall",
    "knowledge_18f.hit_at_5",
    "knowledge_18f.fact_recall",
    "routing.accuracy",
    "routing.slot_accuracy",
    "policy.accuracy",
    "conversations.success_rate",
    "safety.pass_rate",
)


def _num(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.0f}" if value.is_integer() and abs(value) >= 2 else f"{value:.3f}"
    return escape(str(value))


def charts(suites: list[SuiteResult], report: dict[str, Any], thresholds: dict[str, Threshold], out: Path) -> list[str]:
    """Write every PNG into `out`; return their file names in display order."""
    made = [gate_chart(report["metrics"], thresholds, out / "gate.png")]
    for s in suites:
        if s.skipped is None:
            made.append(suite_chart(s, thresholds, out / f"metrics-{s.name}.png"))
        if s.tables.get("confusion"):
            made.append(confusion_chart(s.tables["confusion"], out / "routing-confusion.png"))
    if report["latency"]["all"]:
        made.append(latency_chart(report["latency"]["all"], out / "latency.png"))
    return [p.name for p in made if p is not None]


def write_html(report: dict[str, Any], suites: list[SuiteResult], thresholds: dict[str, Threshold], out: Path) -> Path:
    images = charts(suites, report, thresholds, out)
    gate = report["gate"]
    verdict = "pass'>gate passed" if gate["passed"] else "fail'>gate FAILED"
    parts = [
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>Deskhand eval report</title>"
        f"<style>{STYLE}</style></head><body><main><h1>Deskhand eval report</h1>",
        f"<div class=meta>Started {escape(report['started_at'])} · {report['seconds']} s · "
        f"{escape(', '.join(report['suites']))} &nbsp; <span class='verdict {verdict}</span></div>",
        _cards(report, thresholds),
        _breaches(gate["breaches"]),
        "<h2>Charts</h2><div class=charts>"
        + "".join(f"<img src='{escape(n)}' alt='{escape(n)}'>" for n in images)
        + "</div>",
        _metrics_table(report),
        _latency(report),
        *(_suite(s) for s in suites),
        "</main></body></html>",
    ]
    path = out / "report.html"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def _cards(report: dict[str, Any], thresholds: dict[str, Threshold]) -> str:
    breached = {b["metric"] for b in report["gate"]["breaches"]}
    cards = []
    for m in (m for m in HEADLINES if m in report["metrics"]):
        t = thresholds.get(m)
        limit = f"gate ≥ {t.minimum:g}" if t is not None and t.minimum is not None else "reported"
        cards.append(
            f"<div class='card{' bad' if m in breached else ''}'><div class=k>{escape(m)}</div>"
            f"<div class=v>{_num(report['metrics'][m])}</div><div class=t>{limit}</div></div>"
        )
    return f"<div class=cards>{''.join(cards)}</div>" if cards else ""


def _breaches(breaches: list[dict[str, Any]]) -> str:
    out = []
    for b in breaches:
        worst = "".join(f"<li><code>{escape(w['id'])}</code> {escape(w['why'])}</li>" for w in b["worst"][:3])
        out.append(f"<div class=breach><b>{escape(b['message'])}</b>{'<ul>' + worst + '</ul>' if worst else ''}</div>")
    return "".join(out)


def _metrics_table(report: dict[str, Any]) -> str:
    rows, suite = [], None
    order = {name: i for i, name in enumerate(report["suites"])}  # the order the suites ran in
    for r in sorted(
        metric_rows(report), key=lambda r: (order.get(r["metric"].split(".")[0], 99), not r["limit"], r["metric"])
    ):
        name = r["metric"].split(".", 1)
        if name[0] != suite:
            suite = name[0]
            rows.append(f"<tr class=group><td colspan=6>{escape(suite)}</td></tr>")
        bad = r["status"] not in ("ok", "")
        status = f"<span class={'no' if bad else 'ok'}>{escape(r['status'])}</span>"
        label = escape(name[1]) if r["limit"] else f"<span class=dim>{escape(name[1])}</span>"
        rows.append(
            f"<tr class='{'bad' if bad else ''}'><td>{label}</td><td class=n>{_num(r['value'])}</td>"
            f"<td>{escape(r['limit'])}</td><td class=n>{_num(r['baseline'])}</td>"
            f"<td class=n>{_num(r['delta'])}</td><td>{status}</td></tr>"
        )
    return (
        "<h2>Metrics</h2><p class=note>Gated metrics first in each suite; grey ones are reported only.</p>"
        "<table><tr><th>metric</th><th class=n>value</th><th>gate</th><th class=n>baseline</th>"
        f"<th class=n>Δ</th><th>status</th></tr>{''.join(rows)}</table>"
    )


def _latency(report: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><td>{escape(r)}</td><td class=n>{v['n']}</td><td class=n>{v['p50_ms']}</td>"
        f"<td class=n>{v['p95_ms']}</td></tr>"
        for r, v in report["latency"]["all"].items()
    )
    c = report["cost"]
    usd = "unknown price" if c["usd_per_1k_runs"] is None else f"${escape(str(c['usd_per_1k_runs']))}"
    return (
        "<h2>Latency and cost</h2><p class=note>Milliseconds per agent turn on this machine, all suites "
        "together. Reported only: latency never fails the gate.</p><table><tr><th>route</th>"
        f"<th class=n>turns</th><th class=n>p50 ms</th><th class=n>p95 ms</th></tr>{rows}</table>"
        f"<p class=note>Model: {escape(str(c['model']))} · tokens per 1,000 runs: {c['tokens_per_1k_runs']} · "
        f"cost per 1,000 runs: {usd}</p>"
    )


def _what(data: dict[str, Any]) -> str:
    """What the case asked, in a few words."""
    for key in ("question", "text", "say"):
        if isinstance(data.get(key), str):
            return str(data[key])[:140]
    if data.get("transcript"):
        return str(data["transcript"][0])[:140]
    return str(data.get("kind") or data.get("tool") or "")


def _suite(s: SuiteResult) -> str:
    if s.skipped:
        return f"<h2>{escape(s.name)}</h2><p class=note>Skipped: {escape(s.skipped)}</p>"
    head = (
        f"<h2>{escape(s.name)}</h2><p class=note>{len(s.cases)} cases · {len(s.failed)} failed · "
        f"{s.seconds:.1f} s</p>" + "".join(f"<p class=note>{escape(n)}</p>" for n in s.notes)
    )
    body = ""
    if s.failed:
        rows = "".join(
            f"<tr><td><code>{escape(c.id)}</code></td><td>{escape(_what(c.data))}</td><td>{escape(c.detail)}</td></tr>"
            for c in s.failed
        )
        body += (
            f"<details{' open' if len(s.failed) <= 12 else ''}><summary>Failed cases ({len(s.failed)})"
            f"</summary><table><tr><th>case</th><th>asked</th><th>why</th></tr>{rows}</table></details>"
        )
    if "per_intent" in s.tables:
        rows = "".join(
            f"<tr><td>{escape(k)}</td><td class=n>{v['precision']}</td><td class=n>{v['recall']}</td>"
            f"<td class=n>{v['f1']}</td><td class=n>{v['support']}</td></tr>"
            for k, v in s.tables["per_intent"].items()
        )
        body += (
            "<details><summary>Per-intent precision / recall</summary><table><tr><th>intent</th>"
            f"<th>precision</th><th>recall</th><th>F1</th><th>n</th></tr>{rows}</table></details>"
        )
    return head + body
