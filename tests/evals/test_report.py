"""The report files: JSON, Markdown and HTML with PNG charts that the page actually references."""

from __future__ import annotations

import json
import re
from pathlib import Path

from evals.gate import Threshold, evaluate
from evals.report import build, write_json, write_markdown
from evals.report_html import write_html
from evals.results import CaseResult, SuiteResult, Turn, Usage


def sample_suites() -> list[SuiteResult]:
    knowledge = SuiteResult(
        "knowledge",
        metrics={"hit_at_5": 0.9, "fact_recall": 0.85, "mrr": 0.8, "cases": 2.0},
        cases=[
            CaseResult("kb-1", ["ap"], True, scores={"hit_at_5": 1.0}),
            CaseResult("kb-2", ["it"], False, "cited <b>x.md</b> | instead", {"hit_at_5": 0.0}),
        ],
        turns=[Turn("answer", 40.0), Turn("no_answer", 12.0), Turn("answer", 60.0)],
    )
    cases = [CaseResult(f"rt-{i}", [], i != 2, "" if i != 2 else "intent hold", {}) for i in range(4)]
    table = {"hold": {"hold": 1, "release": 1}, "release": {"hold": 0, "release": 2}}
    per_intent = {"hold": {"precision": 1.0, "recall": 0.5, "f1": 0.667, "support": 2}}
    routing = SuiteResult(
        "routing",
        metrics={"accuracy": 0.75, "cases": 4.0},
        cases=cases,
        tables={"confusion": table, "per_intent": per_intent},
    )
    return [knowledge, routing, SuiteResult("knowledge_18f", skipped="corpus not found")]


def test_every_report_file_is_written_and_the_html_shows_its_charts(tmp_path: Path):
    suites = sample_suites()
    thresholds = {"knowledge.hit_at_5": Threshold("knowledge.hit_at_5", minimum=0.97)}
    breaches = evaluate(suites, thresholds, {})
    report = build(
        suites,
        usage=Usage(turns=3),
        thresholds=thresholds,
        baseline={"routing.accuracy": 0.8},
        breaches=breaches,
        options={"suites": ["knowledge"]},
        seconds=1.5,
        started="2026-01-01T00:00:00",
    )
    write_json(report, tmp_path / "report.json")
    write_markdown(report, suites, tmp_path / "report.md")
    html_path = write_html(report, suites, thresholds, tmp_path)

    data = json.loads((tmp_path / "report.json").read_text())
    assert data["gate"]["passed"] is False
    assert data["gate"]["breaches"][0]["metric"] == "knowledge.hit_at_5"
    assert data["metrics"]["routing.accuracy"] == 0.75
    assert data["latency"]["all"]["answer"] == {"n": 2, "p50_ms": 50.0, "p95_ms": 59.0}
    assert data["cost"]["tokens_per_1k_runs"] == 0.0 and data["cost"]["model"] == "offline"

    md = (tmp_path / "report.md").read_text()
    assert "gate: **FAILED**" in md and "knowledge.hit_at_5 = 0.9 is below 0.97" in md
    assert "`kb-2`" in md and "corpus not found" in md

    html = html_path.read_text()
    images = re.findall(r"<img src='([^']+)'", html)
    # A suite with fewer than three 0..1 metrics (routing here) gets no chart of its own.
    assert set(images) == {"gate.png", "metrics-knowledge.png", "routing-confusion.png", "latency.png"}
    for name in images:
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    assert "&lt;b&gt;x.md&lt;/b&gt;" in html, "case text is escaped, not injected into the page"
    assert "gate FAILED" in html


def test_a_clean_run_reports_a_passed_gate(tmp_path: Path):
    suites = sample_suites()[:1]
    report = build(
        suites,
        usage=Usage(),
        thresholds={},
        baseline={},
        breaches=[],
        options={},
        seconds=0.1,
        started="2026-01-01T00:00:00",
    )
    write_markdown(report, suites, tmp_path / "report.md")
    assert "gate: **PASSED**" in (tmp_path / "report.md").read_text()
    assert "gate passed" in write_html(report, suites, {}, tmp_path).read_text()
