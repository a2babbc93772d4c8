"""Dense retrieval latency (p50/p95) and recall@10 against exact search on synthetic 384-d vectors.

Usage: python bench/knowledge_retrieval.py [--sizes 10000,100000,1000000] [--queries 200] [--nprobe 48]
Vectors are normalised and clustered (like chunk embeddings of many documents on related topics); the index
type is chosen by `knowledge.retrieve.DenseSettings` exactly as `deskhand index build` chooses it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from knowledge.retrieve import DenseSettings, build_dense, dense_search, set_search_threads  # noqa: E402

DIM = 384


def clustered(n: int, rng: np.random.Generator, centers: np.ndarray, block: int = 100_000) -> np.ndarray:
    """n unit vectors around random cluster centres, generated block by block to bound memory."""
    out = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, block):
        m = min(block, n - start)
        which = rng.integers(0, len(centers), size=m)
        vecs = centers[which] + rng.standard_normal((m, DIM), dtype=np.float32) * 0.06
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        out[start : start + m] = vecs
    return out


def exact_top10(data: np.ndarray, queries: np.ndarray, block: int = 200_000) -> np.ndarray:
    """Exact inner-product top-10 by blocked matrix products (no second copy of the data)."""
    best_s = np.full((len(queries), 10), -np.inf, dtype=np.float32)
    best_i = np.zeros((len(queries), 10), dtype=np.int64)
    for start in range(0, len(data), block):
        scores = queries @ data[start : start + block].T
        idx = np.argpartition(-scores, 10, axis=1)[:, :10]
        cand_s = np.concatenate([best_s, np.take_along_axis(scores, idx, axis=1)], axis=1)
        cand_i = np.concatenate([best_i, idx + start], axis=1)
        order = np.argsort(-cand_s, axis=1)[:, :10]
        best_s = np.take_along_axis(cand_s, order, axis=1)
        best_i = np.take_along_axis(cand_i, order, axis=1)
    return best_i


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--nprobe", default=str(DenseSettings().nprobe), help="comma-separated IVF nprobe values")
    parser.add_argument("--flat-threshold", type=int, default=DenseSettings().flat_threshold)
    args = parser.parse_args()
    nprobes = [int(x) for x in args.nprobe.split(",")]
    settings = DenseSettings(flat_threshold=args.flat_threshold, nprobe=nprobes[0])
    print(f"cpu cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f} (machine shared with others)")
    for n in (int(s) for s in args.sizes.split(",")):
        rng = np.random.default_rng(n)
        centers = rng.standard_normal((max(50, n // 200), DIM), dtype=np.float32)
        centers /= np.linalg.norm(centers, axis=1, keepdims=True)
        data = clustered(n, rng, centers)
        queries = (
            data[rng.choice(n, size=args.queries, replace=False)]
            + rng.standard_normal((args.queries, DIM), dtype=np.float32) * 0.03
        )
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        set_search_threads(os.cpu_count() or 1)  # building (k-means, adding) uses every core
        started = time.perf_counter()
        index = build_dense(data, settings)
        build_s = time.perf_counter() - started
        set_search_threads(1)  # as served: one thread per query
        truth = exact_top10(data, queries)
        kind = settings.describe(n)
        for nprobe in nprobes if "nlist" in kind else nprobes[:1]:
            if "nlist" in kind:
                index.nprobe = nprobe
            latencies = []
            found = np.zeros_like(truth)
            dense_search(index, queries[:5], 10)  # warm-up
            for qi in range(args.queries):
                t0 = time.perf_counter()
                _, ids = dense_search(index, queries[qi : qi + 1], 10)
                latencies.append(time.perf_counter() - t0)
                found[qi] = ids[0]
            recall = np.mean([len(set(found[i]) & set(truth[i])) / 10 for i in range(args.queries)])
            extra = f" nlist={kind['nlist']} nprobe={nprobe}" if "nlist" in kind else ""
            p50, p95 = np.percentile(latencies, [50, 95]) * 1000
            print(
                f"n={n:>9,}  {kind['type']}{extra}  build {build_s:6.1f}s  "
                f"latency p50 {p50:6.2f} ms  p95 {p95:6.2f} ms  recall@10 {recall:.3f}",
                flush=True,
            )
        del index, data
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
