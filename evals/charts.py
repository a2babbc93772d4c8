"""PNG charts for the HTML report (matplotlib, headless Agg backend)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

from evals.gate import Threshold
from evals.results import SuiteResult

GOOD, BAD, NEUTRAL, INK = "#2e7d32", "#c62828", "#5c6bc0", "#263238"
RATE_EXCLUDED = ("cases", "unapproved_executions")


def _rates(suite: SuiteResult) -> dict[str, float]:
    return {k: v for k, v in suite.metrics.items() if k not in RATE_EXCLUDED and 0.0 <= v <= 1.0}


def _bars(ax: Any, names: list[str], values: list[float], minimums: list[float | None]) -> None:
    """Horizontal 0..1 bars, value printed past each bar's end, a black tick at each minimum."""
    for i, (value, minimum) in enumerate(zip(values, minimums, strict=True)):
        colour = NEUTRAL if minimum is None else GOOD if value >= minimum - 1e-9 else BAD
        ax.barh(i, value, color=colour, height=0.62)
        # The value goes right of the bar, or right of the tick when the tick sits just past the bar.
        x = minimum if minimum is not None and value < minimum < value + 0.08 else value
        ax.text(x + 0.012, i, f"{value:.3f}", va="center", fontsize=9, color=INK)
        if minimum is not None:
            ax.plot([minimum, minimum], [i - 0.42, i + 0.42], color="black", linewidth=2.2)
    ax.set_yticks(range(len(names)), names, fontsize=9)
    ax.set_xlim(0, 1.13)
    ax.set_xticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="x", alpha=0.3)


def gate_chart(metrics: Mapping[str, float], thresholds: Mapping[str, Threshold], path: Path) -> Path | None:
    """Every gated 0..1 metric that was measured, against its minimum: the report's one-glance chart."""
    gated = [
        (name, metrics[name], t.minimum)
        for name, t in thresholds.items()
        if name in metrics and t.minimum is not None and 0.0 <= metrics[name] <= 1.0
    ][::-1]
    if not gated:
        return None
    fig, ax = plt.subplots(figsize=(8, 0.4 * len(gated) + 1.2), dpi=110)
    _bars(ax, [g[0] for g in gated], [g[1] for g in gated], [g[2] for g in gated])
    ax.set_title("Gated metrics (bar: measured · black tick: minimum · red: below it)", fontsize=10, loc="left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def suite_chart(suite: SuiteResult, thresholds: Mapping[str, Threshold], path: Path) -> Path | None:
    """A suite's 0..1 metrics (diagnostics in blue), when it has enough of them to be worth a chart."""
    rates = _rates(suite)
    if len(rates) < 3:
        return None
    names = list(rates)[::-1]
    minimums = [getattr(thresholds.get(f"{suite.name}.{n}"), "minimum", None) for n in names]
    fig, ax = plt.subplots(figsize=(7.5, 0.4 * len(names) + 1.1), dpi=110)
    _bars(ax, [n.replace("_", " ") for n in names], [rates[n] for n in names], minimums)
    ax.set_title(f"{suite.name} (blue: reported only)", fontsize=10, loc="left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def confusion_chart(table: Mapping[str, Mapping[str, int]], path: Path) -> Path:
    """Expected intent (rows) × predicted intent (columns), coloured by each row's share, with counts."""
    labels = list(table)
    counts = np.array([[table[e].get(p, 0) for p in labels] for e in labels], dtype=float)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(9, 7.5), dpi=110)
    ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(labels)):
        for j in range(len(labels)):
            if counts[i, j]:
                wrong = i != j
                ax.text(
                    j,
                    i,
                    f"{int(counts[i, j])}",
                    ha="center",
                    va="center",
                    fontsize=9,
                    color=BAD if wrong else ("white" if shares[i, j] > 0.6 else INK),
                    fontweight="bold" if wrong else "normal",
                )
    short = [label.replace("_", " ") for label in labels]
    ax.set_xticks(range(len(labels)), short, rotation=40, ha="right", fontsize=9)
    ax.set_yticks(range(len(labels)), short, fontsize=9)
    ax.set_xlabel("predicted intent")
    ax.set_ylabel("expected intent")
    ax.set_title("Routing confusion (held-out set; red = misrouted)", fontsize=11, loc="left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def latency_chart(latency: Mapping[str, Mapping[str, float]], path: Path) -> Path:
    """p50 and p95 turn latency per reply route (ms)."""
    routes = list(latency)
    x = np.arange(len(routes))
    p50 = [latency[r]["p50_ms"] for r in routes]
    p95 = [latency[r]["p95_ms"] for r in routes]
    fig, ax = plt.subplots(figsize=(8, 3.8), dpi=110)
    ax.bar(x - 0.2, p50, 0.4, label="p50", color=NEUTRAL)
    ax.bar(x + 0.2, p95, 0.4, label="p95", color="#ff8f00")
    for xi, (a, b) in enumerate(zip(p50, p95, strict=True)):
        ax.text(xi - 0.2, a, f"{a:.0f}", ha="center", va="bottom", fontsize=8)
        ax.text(xi + 0.2, b, f"{b:.0f}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, [f"{r}\n(n={int(latency[r]['n'])})" for r in routes], fontsize=9)
    ax.set_ylabel("ms per turn")
    ax.set_title("Turn latency by reply route (this machine; reported, not gated)", fontsize=10, loc="left")
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(frameon=False)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
