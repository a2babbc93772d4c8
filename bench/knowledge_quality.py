"""Answer quality on a labelled set: hit@5, answer-fact recall, answered / declined rates.

Usage: python bench/knowledge_quality.py [--corpus DIR --dataset FILE] [--backend onnx-int8] [--dump FILE]
Builds (incrementally) an index under --index-dir, then asks every question in one warm process.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from knowledge.answer import KnowledgeBase  # noqa: E402
from knowledge.compose import ANSWER_CHARS  # noqa: E402
from knowledge.embedder import load_embedder  # noqa: E402
from knowledge.index import build_index  # noqa: E402

# The shared corpora sit beside the repository (or beside the worktrees' parent).
SHARED = next((p for p in (ROOT.parent / "shared", ROOT.parent.parent / "shared") if p.is_dir()), ROOT / "shared")
SETS = {
    "sample": (ROOT / "knowledge" / "corpus", ROOT / "evals" / "datasets" / "knowledge.jsonl"),
    "18f": (SHARED / "corpora" / "18f-handbook", ROOT / "evals" / "datasets" / "knowledge_18f.jsonl"),
    "posthog": (SHARED / "corpora" / "posthog-handbook", ROOT / "evals" / "datasets" / "knowledge_posthog.jsonl"),
}


def evaluate(
    kb: KnowledgeBase, cases: list[dict], dump: list[dict] | None = None, lengths: list[int] | None = None
) -> dict[str, float]:
    hit5 = facts_ok = answered = declined = n_answer = n_no = 0
    for case in cases:
        ans = kb.answer(case["question"])
        sources = [h.chunk.source for h in ans.hits[:5]]
        if case["expect"] == "answer":
            n_answer += 1
            hit = any(s in case["expected_sources"] for s in sources)
            ok = ans.found and all(f.lower() in ans.text.lower() for f in case["facts"])
            hit5 += hit
            facts_ok += ok
            answered += ans.found
            if lengths is not None and ans.found:
                lengths.append(len(ans.text))
        else:
            n_no += 1
            declined += not ans.found
            hit = ok = False
        if dump is not None:
            q = kb.analyzer.question(case["question"])
            ev = kb.evidence(q, ans.hits)
            dump.append(
                {
                    "id": case["id"],
                    "expect": case["expect"],
                    "found": ans.found,
                    "hit5": hit,
                    "facts_ok": ok,
                    "confidence": ans.confidence,
                    "dense": round(ev.dense, 3),
                    "coverage": round(ev.coverage, 3),
                    "names": list(ev.missing_names),
                    "words": list(ev.missing_words),
                    "question": case["question"],
                    "facts": case.get("facts"),
                    "expected": case.get("expected_sources"),
                    "top": sources[:3],
                    "answer": ans.text,
                }
            )
    return {
        "hit@5": hit5 / max(n_answer, 1),
        "fact_recall": facts_ok / max(n_answer, 1),
        "answered": answered / max(n_answer, 1),
        "declined": declined / max(n_no, 1),
        "n_answer": n_answer,
        "n_no_answer": n_no,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=sorted(SETS), action="append", help="named corpus+dataset (repeatable)")
    parser.add_argument("--corpus", type=Path, help="a corpus folder (with --dataset) instead of --set")
    parser.add_argument("--dataset", type=Path, help="its questions (knowledge.jsonl schema)")
    parser.add_argument("--backend", default="onnx-int8")
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--index-dir", type=Path, default=Path(tempfile.gettempdir()) / "deskhand-bench-index")
    parser.add_argument("--model-cache", type=Path, default=Path(tempfile.gettempdir()) / "deskhand-models")
    parser.add_argument("--dump", type=Path, help="write per-question details as JSONL")
    parser.add_argument(
        "--chars", default="", help="also measure fact recall at these answer lengths (comma-separated characters)"
    )
    args = parser.parse_args()
    embedder = load_embedder(args.backend, args.model_cache, max_tokens=args.max_tokens)
    dump: list[dict] | None = [] if args.dump else None
    runs = [(name, *SETS[name]) for name in args.set or ([] if args.corpus else ["sample", "18f"])]
    if args.corpus and args.dataset:
        runs.append((args.corpus.name, args.corpus, args.dataset))
    for name, corpus, dataset in runs:
        out = args.index_dir / f"{name}-{embedder.name.replace('/', '_')}"
        started = time.perf_counter()
        report = build_index([corpus], out, embedder)
        build_s = time.perf_counter() - started
        kb = KnowledgeBase.open(out, embedder)
        cases = [json.loads(line) for line in dataset.read_text().splitlines() if line.strip()]
        result = evaluate(kb, cases, dump)
        for limit in [int(c) for c in args.chars.split(",") if c.strip()]:
            kb.composer.max_chars = limit
            lengths: list[int] = []
            short = evaluate(kb, cases, None, lengths)
            kb.composer.max_chars = ANSWER_CHARS
            mean_len = sum(lengths) / max(len(lengths), 1)
            lengths.sort()
            median, p95 = (lengths[int(q * (len(lengths) - 1))] if lengths else 0 for q in (0.5, 0.95))
            print(
                f"  answer <= {limit} chars: fact_recall={short['fact_recall']:.3f} "
                f"(mean {mean_len:.0f}, median {median}, p95 {p95} chars)"
            )
        print(
            f"{name:7s} {embedder.name}: hit@5={result['hit@5']:.3f} fact_recall={result['fact_recall']:.3f} "
            f"answered={result['answered']:.3f} declined={result['declined']:.3f} "
            f"(n={result['n_answer']}+{result['n_no_answer']}; build {build_s:.1f}s, "
            f"embedded {report.embedded}, reused {report.reused})"
        )
    if args.dump and dump is not None:
        args.dump.write_text("".join(json.dumps(d) + "\n" for d in dump))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
