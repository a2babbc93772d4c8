"""Embedder backends side by side: query latency, build throughput, batch independence, agreement with fp32.

Usage: python bench/knowledge_embedder.py [--corpus DIR] [--chunks 480] [--queries 200]

For each backend (onnx fp32, onnx-int8 batched as the index build used to run it, onnx-int8 one text per run)
it reports: warm single-query latency p50/p95, chunks per second over real chunks of the corpus (batches of
32, as `deskhand index build` forms them), the largest difference between a text embedded alone and the same
text embedded inside a batch (batch independence), and the mean / minimum cosine to the fp32 vectors.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from knowledge.chunking import ChunkerSettings, chunk_document  # noqa: E402
from knowledge.embedder import Embedder, load_embedder  # noqa: E402
from knowledge.ingest import load_documents  # noqa: E402


class _OneByOne(Embedder):
    """Wraps an embedder so that every text is run alone (dynamic int8 then quantises per text)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name + "/one-by-one"
        self.dim = inner.dim

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        return np.vstack([self.inner._encode_batch([t]) for t in texts])


def corpus_texts(root: Path, limit: int) -> list[str]:
    texts: list[str] = []
    for doc in load_documents([root])[0]:
        texts += [c.embed_text for c in chunk_document(doc, ChunkerSettings())]
        if len(texts) >= limit:
            break
    return texts[:limit]


def measure(embedder: Embedder, texts: list[str], queries: list[str], reference: np.ndarray | None) -> dict:
    embedder.encode(texts[:32])  # warm
    lat = []
    for q in queries:
        t = time.perf_counter()
        embedder.encode_query(q)
        lat.append((time.perf_counter() - t) * 1000)
    t = time.perf_counter()
    vecs = embedder.encode(texts, batch_size=32)
    rate = len(texts) / (time.perf_counter() - t)
    sample = texts[:: max(1, len(texts) // 24)][:24]
    alone = np.vstack([embedder.encode_query(s) for s in sample])
    batched = embedder.encode(sample + texts[:40], batch_size=32)[: len(sample)]
    gap = float(np.abs(alone - batched).max())
    out = {
        "p50_ms": statistics.median(lat),
        "p95_ms": float(np.quantile(lat, 0.95)),
        "chunks_per_s": rate,
        "alone_vs_batch_max_abs": gap,
        "vectors": vecs,
    }
    if reference is not None:
        cos = np.sum(vecs * reference, axis=1)
        out["cos_mean"], out["cos_min"] = float(cos.mean()), float(cos.min())
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--corpus", type=Path, default=ROOT / "knowledge" / "corpus")
    p.add_argument("--chunks", type=int, default=480)
    p.add_argument("--queries", type=int, default=200)
    args = p.parse_args()
    cache = Path.home() / ".cache" / "deskhand" / "models"
    texts = corpus_texts(args.corpus, args.chunks)
    queries = [" ".join(t.split()[:12]) for t in texts[: args.queries]]
    fp32 = load_embedder("onnx", cache)
    int8 = load_embedder("onnx-int8", cache)
    backends: list[tuple[str, Embedder]] = [("onnx fp32", fp32), ("onnx-int8 batched", int8)]
    backends.append(("onnx-int8 one text per run", _OneByOne(int8)))
    reference = None
    print(f"{len(texts)} chunks of {args.corpus}, {len(queries)} queries, load {os.getloadavg()[0]:.1f}")
    print(f"{'backend':<28}{'p50 ms':>8}{'p95 ms':>8}{'chunks/s':>10}{'alone-vs-batch':>16}{'cos fp32':>10}{'min':>8}")
    for label, embedder in backends:
        r = measure(embedder, texts, queries, reference)
        if reference is None:
            reference = r["vectors"]
        cos = f"{r.get('cos_mean', 1.0):>10.4f}{r.get('cos_min', 1.0):>8.4f}"
        print(
            f"{label:<28}{r['p50_ms']:>8.1f}{r['p95_ms']:>8.1f}{r['chunks_per_s']:>10.1f}"
            f"{r['alone_vs_batch_max_abs']:>16.2e}{cos}"
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
