"""Warm `KnowledgeBase.answer` latency at 1 and 8 concurrent askers, and cold process start-to-answer time.

Usage: python bench/knowledge_ask.py [--rounds 2] [--index DIR]
Builds the sample index (incrementally) if --index is not given, then asks every labelled question.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from knowledge.answer import KnowledgeBase  # noqa: E402
from knowledge.embedder import load_embedder  # noqa: E402
from knowledge.index import build_index  # noqa: E402

COLD = """
import time; t0 = time.perf_counter()
import os, sys; sys.path.insert(0, {root!r}); os.environ.setdefault("HF_HUB_OFFLINE", "1")
from pathlib import Path
from knowledge.answer import KnowledgeBase
from knowledge.embedder import load_embedder
t1 = time.perf_counter()
embedder = load_embedder("auto", Path({cache!r}))
t2 = time.perf_counter()
kb = KnowledgeBase.open(Path({index!r}), embedder)
t3 = time.perf_counter()
answer = kb.answer("How many PTO days do I get per year?")
t4 = time.perf_counter()
print(f"{{t1-t0:.2f}} {{t2-t1:.2f}} {{t3-t2:.2f}} {{t4-t3:.2f}}")
"""


def percentiles(samples: list[float]) -> str:
    p50, p95 = np.percentile(np.array(samples) * 1000, [50, 95])
    return f"p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  (n={len(samples)})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="passes over the question set")
    parser.add_argument("--index", type=Path)
    parser.add_argument("--model-cache", type=Path, default=Path(tempfile.gettempdir()) / "deskhand-models")
    args = parser.parse_args()
    embedder = load_embedder("auto", args.model_cache)
    index = args.index or Path(tempfile.gettempdir()) / "deskhand-bench-ask-index"
    if args.index is None:
        build_index([ROOT / "knowledge" / "corpus"], index, embedder)
    kb = KnowledgeBase.open(index, embedder)
    dataset = ROOT / "evals" / "datasets" / "knowledge.jsonl"
    questions = [json.loads(line)["question"] for line in dataset.read_text().splitlines() if line.strip()]
    print(f"cpu cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f} (machine shared with others)")
    print(f"embedder {embedder.name}; {len(questions)} questions x {args.rounds} rounds")
    for q in questions[:10]:
        kb.answer(q)  # warm-up

    def timed(question: str) -> float:
        started = time.perf_counter()
        kb.answer(question)
        return time.perf_counter() - started

    work = questions * args.rounds
    single = [timed(q) for q in work]
    print(f"1 asker:   {percentiles(single)}")
    with ThreadPoolExecutor(max_workers=8) as pool:
        started = time.perf_counter()
        concurrent = list(pool.map(timed, work))
        wall = time.perf_counter() - started
    print(f"8 askers:  {percentiles(concurrent)}  throughput {len(work) / wall:.1f} answers/s")

    code = COLD.format(root=str(ROOT), cache=str(args.model_cache), index=str(index))
    colds = []
    for _ in range(3):
        started = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        total = time.perf_counter() - started
        imports, load, open_s, first = (float(x) for x in out.stdout.split())
        colds.append(total)
        print(
            f"cold start-to-answer {total:5.2f}s  (imports {imports:.2f}s, embedder {load:.2f}s, "
            f"index open {open_s:.2f}s, first answer {first:.2f}s, interpreter start the rest)"
        )
    print(f"cold median {np.median(colds):.2f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
