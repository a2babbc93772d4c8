"""The knowledge suite: questions through the whole agent turn, scored on the reply's citations and text."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evals.cases import DatasetError
from evals.harness import Chat, EvalEnv, run_limited
from evals.metrics import (
    DECLINED_ROUTES,
    fact_recall,
    hit_at,
    mean,
    precision_recall,
    ranked_sources,
    reciprocal_rank,
    supporting_sources,
)
from evals.results import CaseResult, SuiteResult

ASKER = "ivy.chen@example.com"  # an ordinary employee with no approver roles
EXPECTS = ("answer", "no_answer", "handoff")


def _source_texts(rt: Any) -> dict[str, str]:
    """Each indexed document's text as ingested (front matter and shortcodes already stripped)."""
    texts: dict[str, list[str]] = {}
    for chunk in rt.deps.knowledge.retriever.chunks:
        texts.setdefault(chunk.source, []).append(f"{chunk.title}\n{chunk.heading}\n{chunk.text}")
    return {source: "\n".join(parts) for source, parts in texts.items()}


def _check(case: dict[str, Any], known: set[str]) -> None:
    if case.get("expect") not in EXPECTS or not isinstance(case.get("question"), str):
        raise DatasetError(f"case {case.get('id')}: needs a question and expect in {', '.join(EXPECTS)}")
    missing = [s for s in case.get("expected_sources", []) if s not in known]
    if missing:
        raise DatasetError(f"case {case['id']}: expected source {missing[0]!r} is not in the indexed corpus")


async def run_knowledge(
    env: EvalEnv,
    name: str,
    corpus: Path,
    cases: list[dict[str, Any]],
    *,
    jobs: int,
    done: Callable[[], None],
    temporary: bool = False,
) -> SuiteResult:
    started = time.perf_counter()
    result = SuiteResult(name)
    index_dir = env.index([corpus], temporary=temporary)
    if index_dir in env.notes:
        result.notes.append(env.notes[index_dir])
    async with env.runtime(index_dir, name) as rt:
        texts = _source_texts(rt)
        for case in cases:
            _check(case, set(texts))
        chat = Chat(rt, f"eval-{name}", result.turns)

        async def one(case: dict[str, Any]) -> CaseResult:
            return await _one(rt, chat, texts, case)

        result.cases = await run_limited(cases, one, jobs, done)
    result.metrics = knowledge_metrics(result.cases)
    result.notes.append(
        "hit@k and MRR rank the distinct sources cited in the agent's reply ([1] first); a "
        "reply that isn't an answer cites nothing. Diagnostics (not gated): retrieval_hit_at_5 "
        "ranks the retriever's top 5 chunks; kb_only_* ask the knowledge base directly, "
        "without the agent's routing, to tell answer losses from routing losses."
    )
    result.seconds = time.perf_counter() - started
    return result


async def _one(rt: Any, chat: Chat, texts: dict[str, str], case: dict[str, Any]) -> CaseResult:
    question, expect = case["question"], case["expect"]
    expected = list(case.get("expected_sources", []))
    facts = list(case.get("facts", []))
    reply = await chat.say(ASKER, question, conversation=case["id"])
    cited = ranked_sources(c.source for c in sorted(reply.citations, key=lambda c: c.n))
    declined = reply.route in DECLINED_ROUTES
    direct = await _knowledge_only(rt, question)
    data: dict[str, Any] = {
        "question": question,
        "expect": expect,
        "route": reply.route,
        "cited": cited,
        "answer": reply.text[:600],
        "expected_sources": expected,
        "facts": facts,
        "kb_only": {k: v for k, v in direct.items() if k != "text"},
    }
    if expect != "answer":
        passed = declined
        detail = "" if passed else f"expected a decline, got route {reply.route} citing {cited[:3]}"
        scores = {"no_answer_recall": float(declined), "kb_only_no_answer_recall": float(not direct["found"])}
        return CaseResult(case["id"], case.get("tags", []), passed, detail, scores, data)

    support = supporting_sources(cited, texts, facts)
    scores = {
        "hit_at_1": hit_at(cited, expected, 1),
        "hit_at_5": hit_at(cited, expected, 5),
        "mrr": reciprocal_rank(cited, expected),
        "fact_recall": fact_recall(reply.text, facts) if reply.route == "answer" else 0.0,
        "citation_precision": mean(float(s) for s in support) if support else 0.0,
        "answer_rate": float(reply.route == "answer"),
        "no_answer_precision": 0.0 if declined else 1.0,
        "retrieval_hit_at_5": hit_at(direct["retrieved"], expected, 5),
        "kb_only_answer_rate": float(direct["found"]),
        "kb_only_hit_at_5": hit_at(direct["cited"], expected, 5),
        "kb_only_fact_recall": fact_recall(direct["text"], facts) if direct["found"] else 0.0,
    }
    data["supporting"] = support
    problems = []
    if reply.route != "answer":
        problems.append(f"route {reply.route}" + (" (the knowledge base alone answers it)" if direct["found"] else ""))
    if not scores["hit_at_5"]:
        problems.append(f"cited {cited[:3] or 'nothing'} instead of {expected[:2]}")
    if scores["fact_recall"] < 1.0:
        missing = [f for f in facts if f.casefold() not in reply.text.casefold()]
        problems.append(f"answer lacks {missing}")
    return CaseResult(case["id"], case.get("tags", []), not problems, "; ".join(problems), scores, data)


async def _knowledge_only(rt: Any, question: str) -> dict[str, Any]:
    """The knowledge base's own answer, without the agent's routing: tells answerer losses from router losses."""
    try:
        answer = await asyncio.to_thread(rt.deps.knowledge.answer, question)
    except Exception:  # a question the knowledge base refuses (empty, too long) is a decline
        return {"found": False, "cited": [], "retrieved": [], "text": ""}
    cited = ranked_sources(c.source for c in sorted(answer.citations, key=lambda c: c.n)) if answer.found else []
    retrieved = ranked_sources(h.chunk.source for h in answer.hits[:5])
    return {"found": bool(answer.found), "cited": cited, "retrieved": retrieved, "text": answer.text}


def knowledge_metrics(cases: list[CaseResult]) -> dict[str, float]:
    answerable = [c for c in cases if c.data["expect"] == "answer"]
    support = [s for c in answerable for s in c.data.get("supporting", [])]
    pairs = [(c.data["expect"] != "answer", c.data["route"] in DECLINED_ROUTES) for c in cases]
    precision, recall = precision_recall(pairs)
    out: dict[str, float] = {"no_answer_precision": precision, "no_answer_recall": recall, "cases": float(len(cases))}
    if answerable:  # a --tag selection may hold no answerable question
        out.update(
            {
                "hit_at_1": mean(c.scores["hit_at_1"] for c in answerable),
                "hit_at_5": mean(c.scores["hit_at_5"] for c in answerable),
                "mrr": mean(c.scores["mrr"] for c in answerable),
                "fact_recall": mean(c.scores["fact_recall"] for c in answerable),
                "citation_precision": mean(float(s) for s in support) if support else 0.0,
                "answer_rate": mean(c.scores["answer_rate"] for c in answerable),
                "retrieval_hit_at_5": mean(c.scores["retrieval_hit_at_5"] for c in answerable),
                "kb_only_answer_rate": mean(c.scores["kb_only_answer_rate"] for c in answerable),
                "kb_only_hit_at_5": mean(c.scores["kb_only_hit_at_5"] for c in answerable),
                "kb_only_fact_recall": mean(c.scores["kb_only_fact_recall"] for c in answerable),
            }
        )
    declines = [c for c in cases if "kb_only_no_answer_recall" in c.scores]
    if declines:
        out["kb_only_no_answer_recall"] = mean(c.scores["kb_only_no_answer_recall"] for c in declines)
    return {k: round(v, 4) for k, v in out.items()}
