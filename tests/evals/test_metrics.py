"""Metric functions on small hand-made inputs whose right answers are worked out by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest

from evals.metrics import (
    confusion,
    contains_fact,
    cost_per_1k_runs,
    fact_recall,
    hit_at,
    latency_by_route,
    per_label_scores,
    percentile,
    precision_recall,
    ranked_sources,
    reciprocal_rank,
    slot_hits,
    supporting_sources,
)


def test_facts_match_case_insensitively_across_markdown_and_spacing():
    answer = "New hires get **15 days**  of PTO [1]. The welcome session starts at 9:00 A.M. MT [2]."
    assert contains_fact(answer, "15 days")
    assert contains_fact(answer, "9:00 a.m. mt")
    assert not contains_fact(answer, "20 days")
    assert not contains_fact(answer, "")
    assert fact_recall(answer, ["15 days", "20 days"]) == 0.5
    assert fact_recall(answer, []) == 1.0


def test_ranking_metrics_use_distinct_sources_in_citation_order():
    ranked = ranked_sources(["a.md", "a.md", "b.md", "c.md"])
    assert ranked == ["a.md", "b.md", "c.md"]
    assert hit_at(ranked, ["b.md"], 1) == 0.0
    assert hit_at(ranked, ["b.md"], 2) == 1.0
    assert hit_at(ranked, ["z.md"], 5) == 0.0
    assert reciprocal_rank(ranked, ["c.md", "x.md"]) == pytest.approx(1 / 3)
    assert reciprocal_rank([], ["a.md"]) == 0.0


def test_citation_support_counts_each_cited_source_once():
    texts = {"pto.md": "You accrue 1.25 days a month.", "holidays.md": "Eleven paid holidays."}
    assert supporting_sources(["pto.md", "holidays.md", "pto.md"], texts, ["1.25 days"]) == [True, False]
    assert supporting_sources(["missing.md"], texts, ["1.25 days"]) == [False]


def test_precision_and_recall_of_declines():
    # (expected decline, declined): one right decline, one wrong decline, one missed decline, one right answer
    pairs = [(True, True), (False, True), (True, False), (False, False)]
    assert precision_recall(pairs) == (0.5, 0.5)
    assert precision_recall([(False, False)]) == (1.0, 1.0)  # nothing to find, nothing claimed


def test_confusion_table_and_per_label_scores():
    table = confusion([("hold", "hold"), ("hold", "release"), ("release", "release"), ("faq", "faq")])
    assert table["hold"] == {"faq": 0, "hold": 1, "release": 1}
    assert table["release"]["release"] == 1
    scores = per_label_scores(table)
    assert scores["hold"]["recall"] == 0.5 and scores["hold"]["precision"] == 1.0
    assert scores["release"]["precision"] == 0.5 and scores["release"]["recall"] == 1.0
    assert scores["faq"]["f1"] == 1.0


def test_slot_hits_compare_canonical_values_and_ignore_extra_slots():
    expected = {"user": "Maya.Patel@example.com", "iban": "DE89 3704 0044 0532 0130 00", "group": "engineering"}
    got = {"user": "maya.patel@example.com", "iban": "DE89370400440532013000", "group": "finance", "name": "Maya"}
    assert slot_hits(expected, got) == (2, 3)
    assert slot_hits({}, got) == (0, 0)


def test_percentiles_interpolate_between_ranks():
    values = [10.0, 20.0, 30.0, 40.0, 50.0]
    assert percentile(values, 50) == 30.0
    assert percentile(values, 95) == pytest.approx(48.0)
    assert percentile([], 95) == 0.0
    lat = latency_by_route([("answer", 10.0), ("answer", 30.0), ("tool", 5.0)])
    assert lat == {"answer": {"n": 2, "p50_ms": 20.0, "p95_ms": 29.0}, "tool": {"n": 1, "p50_ms": 5.0, "p95_ms": 5.0}}


def test_cost_per_thousand_runs_uses_exact_decimal_prices():
    # 500 runs spent 2M input and 0.5M output tokens: (2M × 0.15 + 0.5M × 0.60) / 1M = 0.60 USD,
    # so 1,000 runs spend twice that.
    tokens, usd = cost_per_1k_runs(2_000_000, 500_000, 500, Decimal("0.15"), Decimal("0.60"))
    assert tokens == 5_000_000.0
    assert usd == Decimal("1.2000")
    assert cost_per_1k_runs(0, 0, 0, Decimal(1), Decimal(1)) == (0.0, Decimal("0"))
