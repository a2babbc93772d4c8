"""`deskhand eval` end to end on the real agent: identical metrics run to run, the gate's exit codes, files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.cli import EXIT_GATE, EXIT_OK, EXIT_USAGE
from tests.evals.support import report, run_eval

SMALL = (
    "--suite",
    "knowledge",
    "--suite",
    "routing",
    "--suite",
    "policy",
    "--suite",
    "conversations",
    "--suite",
    "safety",
    "--limit",
    "4",
)


def test_two_runs_give_identical_quality_metrics(tmp_path: Path):
    run_eval(tmp_path, *SMALL, "--out", str(tmp_path / "one"))
    run_eval(tmp_path, *SMALL, "--out", str(tmp_path / "two"))
    first, second = report(tmp_path / "one"), report(tmp_path / "two")
    assert first["metrics"] == second["metrics"]
    assert set(first["metrics"]) >= {
        "knowledge.hit_at_5",
        "routing.accuracy",
        "policy.accuracy",
        "conversations.success_rate",
        "safety.pass_rate",
    }
    for name in first["suites"]:
        assert [(c["id"], c["passed"], c["detail"]) for c in first["suites"][name]["cases"]] == [
            (c["id"], c["passed"], c["detail"]) for c in second["suites"][name]["cases"]
        ], name
    assert first["metrics"]["policy.cases"] == 4.0, "--limit applies to each suite"
    for name in ("report.md", "report.html", "gate.png", "latency.png", "routing-confusion.png"):
        assert (tmp_path / "one" / name).exists(), name


def test_a_breach_exits_non_zero_and_names_the_metric(tmp_path: Path):
    thresholds = tmp_path / "thresholds.yaml"
    thresholds.write_text("metrics:\n  policy.cases: {max: 2}\n")
    code, text = run_eval(
        tmp_path, "--suite", "policy", "--limit", "3", "--thresholds", str(thresholds), "--out", str(tmp_path / "out")
    )
    assert code == EXIT_GATE
    assert "policy.cases = 3 is above 2" in text
    assert report(tmp_path / "out")["gate"]["passed"] is False


def test_a_regression_from_the_baseline_fails_and_a_met_gate_passes(tmp_path: Path):
    thresholds = tmp_path / "thresholds.yaml"
    thresholds.write_text("metrics:\n  policy.cases: {min: 1, max_regression: 0}\n")
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps({"metrics": {"policy.cases": 60.0}}))
    common = ("--suite", "policy", "--thresholds", str(thresholds), "--out", str(tmp_path / "out"))
    code, text = run_eval(tmp_path, *common, "--baseline", str(baseline))
    assert code == EXIT_GATE
    assert "policy.cases" in text and "regressed from the baseline 60" in text
    baseline.write_text(json.dumps({"metrics": {"policy.cases": 40.0}}))
    code, _ = run_eval(tmp_path, *common, "--baseline", str(baseline))
    assert code == EXIT_OK


@pytest.mark.parametrize(
    "argv",
    [
        ("--suite", "policy", "--update-baseline"),  # only a full run may become the baseline
        ("--limit", "3", "--update-baseline"),
        ("--dataset", "evals/datasets/knowledge.jsonl"),  # --dataset without --corpus
    ],
)
def test_usage_errors_exit_2_before_any_work(tmp_path: Path, argv: tuple[str, ...]):
    code, text = run_eval(tmp_path, *argv, "--out", str(tmp_path / "out"))
    assert code == EXIT_USAGE
    assert "deskhand eval:" in text
    assert not (tmp_path / "out").exists()
