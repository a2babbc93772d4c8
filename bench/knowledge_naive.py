"""A naive baseline for bench/knowledge_loco.py: MiniLM + BM25 + FAISS, RRF, answer = the whole top chunk.

Usage: python bench/knowledge_naive.py [--corpora DIR] [--only NAME ...]
Chunks each Markdown/text file by heading (front matter dropped), never declines, and is scored with the
same `score` as the engine (hit@5 over the top 5 chunks' sources, fact recall on the top chunk's text).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

import bm25s
import faiss  # the baseline is deliberately outside knowledge/: it must not share the engine's code paths
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.knowledge_loco import corpora, load_cases, print_report, score  # noqa: E402
from knowledge.embedder import load_embedder  # noqa: E402  (all-MiniLM-L6-v2, offline)

FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.S)
HEADING = re.compile(r"^#{1,6} ", re.M)


def chunks(root: Path) -> list[tuple[str, str]]:
    out = []
    for path in sorted(p for p in root.rglob("*") if p.suffix in {".md", ".mdx", ".txt"} and p.name != "SOURCE.md"):
        text = FRONT_MATTER.sub("", path.read_text(encoding="utf-8", errors="replace"))
        for part in HEADING.split(text):
            words = part.split()
            for i in range(0, len(words), 200):  # long sections in 200-word windows
                if len(words[i : i + 200]) >= 5:
                    out.append((str(path.relative_to(root)), " ".join(words[i : i + 200])))
    return out


def answer_all(root: Path, questions: list[str], embedder) -> list[dict]:
    docs = chunks(root)
    vectors = embedder.encode([t for _, t in docs]).astype(np.float32)
    dense = faiss.IndexFlatIP(vectors.shape[1])
    dense.add(vectors)
    sparse = bm25s.BM25()
    sparse.index(bm25s.tokenize([t for _, t in docs], show_progress=False), show_progress=False)
    replies = []
    for q in questions:
        _, d_ids = dense.search(embedder.encode([q]).astype(np.float32), 20)
        s_ids, _ = sparse.retrieve(bm25s.tokenize([q], show_progress=False), k=20, show_progress=False)
        fused: dict[int, float] = {}
        for ranking in (list(d_ids[0]), list(s_ids[0])):
            for rank, i in enumerate(ranking):
                fused[int(i)] = fused.get(int(i), 0.0) + 1.0 / (60 + rank)
        top = sorted(fused, key=lambda i: (-fused[i], i))[:5]
        cites = [{"n": n, "source": docs[i][0]} for n, i in enumerate(top, 1)]
        replies.append({"route": "answer", "answer": docs[top[0]][1], "citations": cites})
    return replies


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--corpora", type=Path, default=ROOT.parent / "shared" / "corpora")
    p.add_argument("--only", action="append", choices=("sample", "18f", "posthog"))
    args = p.parse_args()
    embedder = load_embedder("onnx-int8", cache_dir=Path.home() / ".cache" / "deskhand" / "models")
    folds = {}
    for c in corpora(args.corpora):
        if (args.only and c.name not in args.only) or not c.root.is_dir():
            continue
        cases = load_cases(c.dataset)
        folds[c.name] = score(cases, answer_all(c.root, [x["question"] for x in cases], embedder))
    print_report(folds, "naive baseline (MiniLM + BM25 + FAISS, RRF, whole top chunk, never declines)")
    print("load average: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
