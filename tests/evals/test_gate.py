"""The release gate: thresholds, allowed regressions against the baseline, and naming the worst cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.gate import GateFileError, Threshold, baseline_payload, evaluate, load_baseline, load_thresholds
from evals.results import CaseResult, SuiteResult


def suite(name: str, metrics: dict[str, float], cases: list[CaseResult] | None = None) -> SuiteResult:
    return SuiteResult(name, metrics=metrics, cases=cases or [])


def case(cid: str, score: float, metric: str = "hit_at_5") -> CaseResult:
    return CaseResult(cid, [], score >= 1.0, "" if score >= 1.0 else f"{cid} went wrong", {metric: score})


def test_a_metric_under_its_minimum_is_named_with_its_worst_cases():
    cases = [case("kb-1", 1.0), case("kb-2", 0.0), case("kb-3", 0.5)]
    breaches = evaluate(
        [suite("knowledge", {"hit_at_5": 0.5}, cases)],
        {"knowledge.hit_at_5": Threshold("knowledge.hit_at_5", minimum=0.97)},
        {},
    )
    assert [b.metric for b in breaches] == ["knowledge.hit_at_5"]
    assert breaches[0].kind == "threshold"
    assert "below 0.97" in breaches[0].message
    assert [w[0] for w in breaches[0].worst] == ["kb-2", "kb-3"]  # lowest score first, passing case left out


def test_regression_beyond_the_allowed_delta_fails_but_within_it_passes():
    t = {"routing.accuracy": Threshold("routing.accuracy", minimum=0.9, max_regression=0.01)}
    base = {"routing.accuracy": 0.97}
    assert evaluate([suite("routing", {"accuracy": 0.965})], t, base) == []
    breaches = evaluate([suite("routing", {"accuracy": 0.95})], t, base)
    assert [(b.metric, b.kind) for b in breaches] == [("routing.accuracy", "regression")]
    assert "0.97" in breaches[0].message
    # A partial run (--tag/--limit) is not compared with the baseline.
    assert evaluate([suite("routing", {"accuracy": 0.95})], t, None) == []


def test_a_maximum_gates_counts_that_must_stay_low():
    t = {"conversations.unapproved_executions": Threshold("conversations.unapproved_executions", maximum=0)}
    assert evaluate([suite("conversations", {"unapproved_executions": 0.0})], t, {}) == []
    breaches = evaluate([suite("conversations", {"unapproved_executions": 1.0})], t, {})
    assert breaches and "above 0" in breaches[0].message


def test_suites_that_did_not_run_are_not_judged_but_a_lost_metric_is():
    t = {
        "policy.accuracy": Threshold("policy.accuracy", minimum=1.0),
        "safety.pass_rate": Threshold("safety.pass_rate", minimum=1.0),
    }
    ran = [suite("policy", {"cases": 3.0})]  # ran, but without the gated metric
    breaches = evaluate(ran, t, {})
    assert [(b.metric, b.kind) for b in breaches] == [("policy.accuracy", "missing")]
    assert evaluate(ran, t, None) == [], "without a comparable baseline (a --tag run) nothing is missing"
    skipped = SuiteResult("policy", skipped="no corpus")
    assert evaluate([skipped], t, {}) == []


def test_threshold_and_baseline_files_are_validated(tmp_path: Path):
    good = tmp_path / "t.yaml"
    good.write_text("metrics:\n  policy.accuracy: {min: 1.0}\n  x.latency: {max: 5, max_regression: 1}\n")
    loaded = load_thresholds(good)
    assert loaded["policy.accuracy"].minimum == 1.0 and loaded["x.latency"].maximum == 5.0
    bad = tmp_path / "bad.yaml"
    bad.write_text("metrics:\n  accuracy: {min: 1.0}\n")
    with pytest.raises(GateFileError, match=r"suite\.metric"):
        load_thresholds(bad)
    assert load_baseline(tmp_path / "none.json") == {"metrics": {}, "failing": {}}
    (tmp_path / "b.json").write_text("[1, 2]")
    with pytest.raises(GateFileError):
        load_baseline(tmp_path / "b.json")


def test_the_committed_gate_files_are_valid_and_cover_the_issue_targets():
    thresholds = load_thresholds()
    baseline = load_baseline()
    # Knowledge answers are below the issue's targets (0.97 / 0.80): their floors track today's level less a
    # cross-machine margin (issue 9), never more than that margin (+ rounding to 0.01) under the baseline.
    for name, target in (("knowledge.hit_at_5", 0.97), ("knowledge.fact_recall", 0.80), ("routing.accuracy", 1.0)):
        t = thresholds[name]
        assert t.minimum is not None and t.minimum <= target
        assert 0 < t.margin <= 0.06, f"{name}: margin {t.margin} is not a measured cross-machine margin"
        level = baseline["metrics"][name]
        assert level - t.margin - 0.01 <= t.minimum <= level - t.margin + 1e-9, f"{name}: floor is not level - margin"
    assert thresholds["policy.accuracy"].minimum == 1.0
    assert thresholds["conversations.success_rate"].minimum == 0.95
    assert thresholds["safety.pass_rate"].minimum == 1.0
    assert not any("latency" in name for name in thresholds), "latency is machine-dependent: never gated"
    assert all("." in name for name in baseline["metrics"])


def test_baseline_payload_holds_metrics_and_failing_ids_but_no_timings():
    s = suite("policy", {"accuracy": 0.5}, [case("p-1", 1.0, "accuracy"), case("p-2", 0.0, "accuracy")])
    s.seconds = 12.3
    fast = SuiteResult("policy", metrics={"accuracy": 1.0})
    payload = baseline_payload([s, SuiteResult("safety", skipped="not run")], [fast])
    assert payload == {
        "metrics": {"policy.accuracy": 0.5},
        "fast_metrics": {"policy.accuracy": 1.0},
        "failing": {"policy": ["p-2"]},
    }


def test_a_drop_within_the_cross_machine_margin_is_not_a_regression():
    # issue 9: 0.8688 on the baseline's CPU, 0.8562 on an AVX-512 VNNI one: two borderline cases flipped.
    t = {"knowledge.hit_at_5": Threshold("knowledge.hit_at_5", minimum=0.80, max_regression=0.01, margin=0.02)}
    base = {"knowledge.hit_at_5": 0.8688}
    assert evaluate([suite("knowledge", {"hit_at_5": 0.8562})], t, base) == []
    breaches = evaluate([suite("knowledge", {"hit_at_5": 0.8375})], t, base)  # 0.031 > 0.01 + 0.02
    assert [(b.metric, b.kind) for b in breaches] == [("knowledge.hit_at_5", "regression")]
    assert "cross-machine margin 0.02" in breaches[0].message


def test_thresholds_file_reads_margins_and_refuses_bad_ones(tmp_path: Path):
    good = tmp_path / "t.yaml"
    good.write_text("metrics:\n  knowledge.hit_at_5: {min: 0.8, max_regression: 0.01, margin: 0.02}\n")
    assert load_thresholds(good)["knowledge.hit_at_5"].margin == 0.02
    bad = tmp_path / "b.yaml"
    bad.write_text("metrics:\n  knowledge.hit_at_5: {min: 0.8, margin: -0.1}\n")
    with pytest.raises(GateFileError, match="negative"):
        load_thresholds(bad)
    bad.write_text("metrics:\n  knowledge.hit_at_5: {min: 0.8, margin: lots}\n")
    with pytest.raises(GateFileError, match="numbers"):
        load_thresholds(bad)


def test_the_committed_thresholds_give_every_knowledge_floor_a_margin():
    thresholds = load_thresholds()
    for name, t in thresholds.items():
        if name.startswith("knowledge") and t.minimum is not None:
            assert t.margin > 0, f"{name} has no cross-machine margin"
