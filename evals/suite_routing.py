"""The routing suite: held-out utterances through the intent router and slot extractor, the way the agent's
`understand` step calls them (entity masking, query embedding, entity kinds as a prior)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evals.cases import DatasetError
from evals.harness import EvalEnv
from evals.metrics import confusion, per_label_scores, slot_hits, slot_value
from evals.results import CaseResult, SuiteResult
from graphs.understand import ENTITY_SLOTS  # which extracted slots count as entity kinds for the router's prior
from graphs.understanding.intents import mask_entities
from tools.catalog import entity_affinity


def classify(deps: Any, text: str) -> tuple[str, float, dict[str, str]]:
    """(intent, confidence, slots) for one message, as the agent's understand step computes them."""
    found = deps.slots().extract(text)
    slots = dict(found.values)
    kinds = [k for k in ENTITY_SLOTS if k in slots]
    masked = mask_entities(text)
    guess = deps.router.classify(masked, deps.embed_query(masked), kinds, entity_affinity(deps.tools))
    return guess.name, guess.confidence, slots


async def run_routing(
    env: EvalEnv, index_dir: Path, cases: list[dict[str, Any]], *, done: Callable[[], None]
) -> SuiteResult:
    started = time.perf_counter()
    result = SuiteResult("routing")
    for case in cases:
        if not isinstance(case.get("text"), str) or not isinstance(case.get("intent"), str):
            raise DatasetError(f"case {case.get('id')}: needs text and intent")
    async with env.runtime(index_dir, "routing") as rt:
        if rt.deps.refresh_entities is not None:
            await rt.deps.refresh_entities()
        for case in cases:
            result.cases.append(await asyncio.to_thread(_one, rt.deps, case))
            done()
    result.metrics, result.tables = _metrics(result.cases)
    result.notes.append(
        "Slot accuracy counts each labelled slot once (right value or not); slots the "
        "extractor finds beyond the labels are not penalised."
    )
    result.seconds = time.perf_counter() - started
    return result


def _one(deps: Any, case: dict[str, Any]) -> CaseResult:
    intent, confidence, slots = classify(deps, case["text"])
    expected_slots = dict(case.get("slots") or {})
    right, total = slot_hits(expected_slots, slots)
    intent_ok = intent == case["intent"]
    problems = []
    if not intent_ok:
        problems.append(f"intent {intent} ({confidence:.2f}) instead of {case['intent']}")
    wrong = {
        k: slots.get(k)
        for k, v in expected_slots.items()
        if k not in slots or slot_value(k, slots[k]) != slot_value(k, v)
    }
    if wrong:
        problems.append(f"slots {wrong} instead of { ({k: expected_slots[k] for k in wrong}) }")
    scores = {"accuracy": float(intent_ok)}
    if total:
        scores["slot_accuracy"] = right / total
    data = {
        "text": case["text"],
        "expected": case["intent"],
        "predicted": intent,
        "confidence": confidence,
        "expected_slots": expected_slots,
        "slots": slots,
        "slot_right": right,
        "slot_total": total,
    }
    return CaseResult(case["id"], case.get("tags", []), not problems, "; ".join(problems), scores, data)


def _metrics(cases: list[CaseResult]) -> tuple[dict[str, float], dict[str, Any]]:
    table = confusion((c.data["expected"], c.data["predicted"]) for c in cases)
    right = sum(c.data["slot_right"] for c in cases)
    total = sum(c.data["slot_total"] for c in cases)
    metrics = {
        "accuracy": sum(c.scores["accuracy"] for c in cases) / len(cases) if cases else 0.0,
        "cases": float(len(cases)),
    }
    if total:
        metrics["slot_accuracy"] = right / total
    labels = per_label_scores(table)
    if labels:
        metrics["macro_f1"] = sum(v["f1"] for v in labels.values()) / len(labels)
    return {k: round(v, 4) for k, v in metrics.items()}, {"confusion": table, "per_intent": labels}
