"""Metric functions: plain inputs in, numbers out (no agent, no I/O), so each is tested on its own."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal

DECLINED_ROUTES = frozenset({"no_answer", "handoff"})
_MARKUP = re.compile(r"\*\*|__|`")
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Case-folded text with Markdown emphasis markers dropped and runs of whitespace collapsed."""
    return _SPACE.sub(" ", _MARKUP.sub("", text)).strip().casefold()


def contains_fact(text: str, fact: str) -> bool:
    """A fact counts when it appears, case-insensitively, in the text."""
    needle = normalise(fact)
    return bool(needle) and needle in normalise(text)


def ranked_sources(sources: Iterable[str]) -> list[str]:
    """Distinct sources in the order given (citation [1] first)."""
    out: list[str] = []
    for s in sources:
        if s not in out:
            out.append(s)
    return out


def hit_at(ranked: Sequence[str], expected: Iterable[str], k: int) -> float:
    """1.0 when any expected source is among the first k ranked sources."""
    wanted = set(expected)
    return 1.0 if any(s in wanted for s in ranked[:k]) else 0.0


def reciprocal_rank(ranked: Sequence[str], expected: Iterable[str]) -> float:
    wanted = set(expected)
    for i, s in enumerate(ranked, start=1):
        if s in wanted:
            return 1.0 / i
    return 0.0


def fact_recall(answer: str, facts: Sequence[str]) -> float:
    """Share of the expected facts the answer contains (1.0 when there are none to find)."""
    if not facts:
        return 1.0
    return sum(contains_fact(answer, f) for f in facts) / len(facts)


def supporting_sources(cited: Iterable[str], source_texts: Mapping[str, str], facts: Sequence[str]) -> list[bool]:
    """For each distinct cited source: does its indexed text contain at least one expected fact?"""
    return [any(contains_fact(source_texts.get(s, ""), f) for f in facts) for s in ranked_sources(cited)]


def precision_recall(pairs: Iterable[tuple[bool, bool]]) -> tuple[float, float]:
    """(precision, recall) of predicted positives for (expected, predicted) pairs; 1.0 when undefined."""
    tp = fp = fn = 0
    for expected, predicted in pairs:
        tp += expected and predicted
        fp += predicted and not expected
        fn += expected and not predicted
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall


def mean(values: Iterable[float]) -> float:
    items = list(values)
    return sum(items) / len(items) if items else 0.0


def confusion(pairs: Iterable[tuple[str, str]]) -> dict[str, dict[str, int]]:
    """expected label -> predicted label -> count, every label present as row and column."""
    counts = Counter(pairs)
    labels = sorted({label for pair in counts for label in pair})
    return {e: {p: counts.get((e, p), 0) for p in labels} for e in labels}


def per_label_scores(table: Mapping[str, Mapping[str, int]]) -> dict[str, dict[str, float]]:
    """Precision, recall and F1 for each label of a confusion table."""
    out: dict[str, dict[str, float]] = {}
    for label in table:
        tp = table[label].get(label, 0)
        support = sum(table[label].values())
        predicted = sum(row.get(label, 0) for row in table.values())
        p = tp / predicted if predicted else 0.0
        r = tp / support if support else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        out[label] = {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f1, 4), "support": support}
    return out


def slot_value(name: str, value: object) -> str:
    """Canonical form for comparing a slot: case-folded; bank numbers without spaces or dashes."""
    text = str(value).strip().casefold()
    if name in ("iban", "account_number", "routing_number"):
        text = re.sub(r"[\s-]", "", text)
    return text


def slot_hits(expected: Mapping[str, object], got: Mapping[str, object]) -> tuple[int, int]:
    """(expected slots extracted with the right value, expected slots). Extra slots are not counted."""
    right = sum(1 for k, v in expected.items() if k in got and slot_value(k, got[k]) == slot_value(k, v))
    return right, len(expected)


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0..100) by linear interpolation between closest ranks."""
    if not values:
        return 0.0
    ordered = sorted(values)
    pos = (len(ordered) - 1) * p / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def latency_by_route(turns: Iterable[tuple[str, float]]) -> dict[str, dict[str, float]]:
    """route -> {n, p50_ms, p95_ms}."""
    groups: dict[str, list[float]] = {}
    for route, ms in turns:
        groups.setdefault(route, []).append(ms)
    return {
        route: {"n": len(ms), "p50_ms": round(percentile(ms, 50), 1), "p95_ms": round(percentile(ms, 95), 1)}
        for route, ms in sorted(groups.items())
    }


def cost_per_1k_runs(
    input_tokens: int, output_tokens: int, runs: int, price_in: Decimal, price_out: Decimal
) -> tuple[float, Decimal]:
    """(tokens per 1,000 runs, USD per 1,000 runs) with prices in USD per million tokens."""
    if runs <= 0:
        return 0.0, Decimal("0")
    tokens = (input_tokens + output_tokens) * 1000 / runs
    usd = (Decimal(input_tokens) * price_in + Decimal(output_tokens) * price_out) / Decimal(1_000_000)
    return round(tokens, 1), (usd * 1000 / runs).quantize(Decimal("0.0001"))
