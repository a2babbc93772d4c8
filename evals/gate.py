"""The release gate: committed thresholds and allowed regressions against a committed baseline."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from evals.results import SuiteResult

EVALS_DIR = Path(__file__).resolve().parent
THRESHOLDS = EVALS_DIR / "thresholds.yaml"
BASELINE = EVALS_DIR / "baseline.json"
EPSILON = 1e-9


class GateFileError(Exception):
    """The thresholds or baseline file is unreadable or malformed."""


@dataclass(frozen=True)
class Threshold:
    metric: str  # "suite.metric"
    minimum: float | None = None
    maximum: float | None = None
    max_regression: float = 0.0  # how far it may move the wrong way from the baseline
    margin: float = 0.0  # cross-machine noise (bench/eval_spread.py): a regression must exceed it as well

    @property
    def higher_is_better(self) -> bool:
        return self.maximum is None


@dataclass
class Breach:
    metric: str
    value: float | None
    kind: str  # "threshold" | "regression" | "missing"
    message: str
    worst: list[tuple[str, str]] = field(default_factory=list)  # (case id, why it failed)


def load_thresholds(path: Path = THRESHOLDS) -> dict[str, Threshold]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        raise GateFileError(f"{path}: cannot read the thresholds file") from None
    items = raw.get("metrics") if isinstance(raw, dict) else None
    if not isinstance(items, dict):
        raise GateFileError(f"{path}: expected a `metrics` mapping")
    out = {}
    for metric, spec in items.items():
        if not isinstance(spec, dict) or not ({"min", "max"} & set(spec)) or "." not in str(metric):
            raise GateFileError(f"{path}: {metric}: give `suite.metric: {{min: X, max_regression: D}}` (or max:)")
        try:
            regression, margin = float(spec.get("max_regression", 0.0)), float(spec.get("margin", 0.0))
        except (TypeError, ValueError):
            raise GateFileError(f"{path}: {metric}: max_regression and margin must be numbers") from None
        if regression < 0 or margin < 0:
            raise GateFileError(f"{path}: {metric}: max_regression and margin cannot be negative")
        out[str(metric)] = Threshold(str(metric), _num(spec.get("min")), _num(spec.get("max")), regression, margin)
    return out


def _num(value: Any) -> float | None:
    return None if value is None else float(value)


def load_baseline(path: Path = BASELINE) -> dict[str, Any]:
    """The committed baseline (`{"metrics": {...}, "failing": {...}}`), or an empty one if none exists yet."""
    if not path.exists():
        return {"metrics": {}, "failing": {}}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        raise GateFileError(f"{path}: cannot read the baseline") from None
    if not isinstance(data, dict) or not isinstance(data.get("metrics"), dict):
        raise GateFileError(f"{path}: expected a mapping with `metrics`")
    return data


def flat_metrics(suites: list[SuiteResult]) -> dict[str, float]:
    return {f"{s.name}.{k}": v for s in suites if s.skipped is None for k, v in sorted(s.metrics.items())}


def worst_cases(suite: SuiteResult, metric: str, n: int = 5) -> list[tuple[str, str]]:
    """The cases that pull `metric` down most: lowest per-case score first, then failed cases in order."""
    scored = [c for c in suite.cases if metric in c.scores and c.scores[metric] < 1.0]
    if scored:
        scored.sort(key=lambda c: c.scores[metric])
        return [(c.id, c.detail or f"{metric}={c.scores[metric]:.2f}") for c in scored[:n]]
    return [(c.id, c.detail) for c in suite.failed[:n]]


def evaluate(
    suites: list[SuiteResult], thresholds: dict[str, Threshold], baseline: dict[str, float] | None
) -> list[Breach]:
    """Every breach: a metric under its minimum (over its maximum), or worse than the baseline by more than
    its allowed regression plus its cross-machine margin (the same code on another CPU may score that much
    lower without anything having regressed). Only suites that ran are judged. `baseline` holds the
    baseline's metrics for the same selection of cases, or is None when there is nothing comparable (a
    --tag or --limit run); with a baseline, a gated metric that wasn't measured is a breach too (a typo or
    a lost metric)."""
    ran = {s.name: s for s in suites if s.skipped is None}
    values = flat_metrics(suites)
    compare_baseline = baseline is not None
    base = baseline or {}
    breaches: list[Breach] = []
    for name, t in thresholds.items():
        suite_name, metric = name.split(".", 1)
        suite = ran.get(suite_name)
        if suite is None:
            continue
        value = values.get(name)
        if value is None:
            if compare_baseline:  # a full run measures every gated metric: a missing one is a typo or a loss
                breaches.append(Breach(name, None, "missing", f"{name} was not measured"))
            continue
        worst = worst_cases(suite, metric)
        if t.minimum is not None and value < t.minimum - EPSILON:
            breaches.append(Breach(name, value, "threshold", f"{name} = {value:.4g} is below {t.minimum:.4g}", worst))
        elif t.maximum is not None and value > t.maximum + EPSILON:
            breaches.append(Breach(name, value, "threshold", f"{name} = {value:.4g} is above {t.maximum:.4g}", worst))
        elif compare_baseline and name in base:
            drop = (base[name] - value) if t.higher_is_better else (value - base[name])
            allowed = t.max_regression + t.margin
            if drop > allowed + EPSILON:
                breaches.append(
                    Breach(
                        name,
                        value,
                        "regression",
                        f"{name} = {value:.4g} regressed from the baseline {base[name]:.4g} "
                        f"(allowed: {allowed:.4g}"
                        + (f" = {t.max_regression:.4g} + cross-machine margin {t.margin:.4g})" if t.margin else ")"),
                        worst,
                    )
                )
    return breaches


def baseline_payload(suites: list[SuiteResult], fast: list[SuiteResult]) -> dict[str, Any]:
    """What `--update-baseline` commits: quality metrics of the full run and of its --fast subset (so CI's
    fast runs are compared too), and the ids of the failing cases. No timings."""
    return {
        "metrics": flat_metrics(suites),
        "fast_metrics": flat_metrics(fast),
        "failing": {s.name: [c.id for c in s.failed] for s in suites if s.skipped is None},
    }
