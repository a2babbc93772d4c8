"""Cross-machine spread of the eval gate's metrics: the same suites under simulated CPU differences.

Usage: python bench/eval_spread.py [--variants a,b,...|all] [--suites knowledge,routing,...] [--fast]
                                   [--shared-corpora DIR] [--out FILE.json] [--report-only]

A machine with another CPU computes the same eval with other floating-point kernels. This script runs the
gate's suites once per variant, each in its own process (BLAS and numpy pick their kernels at import), and
prints per metric the value under each variant, min / max / spread, and a proposed floor:

    floor = today's level (base variant) - max(2 x spread, minimum),  minimum = max(0.01, 2 / N)

where N is how many cases the metric averages over (2 / N: two borderline cases flipping, which is what
the AVX-512 VNNI machine of issue 9 showed on the sample set: 0.8688 -> 0.8562 is 2 of 160).

Variants (what each stands in for):
  base              the default fp32 ONNX embedder, this machine's BLAS and numpy kernels
  onnx-int8, torch  the other embedding backends: other kernels, other rounding (an upper bound for what a
                    CPU's kernels can change, since int8 vs fp32 is a bigger change than kernel order)
  blas-1thread      OPENBLAS_NUM_THREADS=1: another summation split in the router's (and any) BLAS fit
  blas-sandybridge, blas-nehalem
                    OPENBLAS_CORETYPE: the kernels OpenBLAS picks on older CPUs (AVX, SSE4)
  numpy-x86v2       NPY_DISABLE_CPU_FEATURES=X86_V3: numpy's baseline sort instead of its AVX2 one, so
                    argsort/argpartition order equal scores differently, as AVX-512 machines' does
  jitter-E-sN       every embedding v -> normalise(v * (1 + E * z)), z ~ N(0, 1) fixed per text and seed N:
                    E = 1e-6 is fp32 re-association over a 384/1536-wide dot product through 6 layers
                    (2^-24 * sqrt(K) ~ 1e-6 per layer); E = 1e-4..1e-3 is an int8 activation landing
                    on the neighbouring quantisation step (1/255 of the range), which is what a VNNI
                    kernel versus an AVX2 (saturating vpmaddubsw) kernel can do. The script prints the
                    measured differences next to these sizes; on 2026-11-30: fp32, one text alone vs in
                    a batch 1.6e-7 (pure re-association: the 1e-6 end), int8 vs fp32 1.3e-1, and int8
                    alone vs in a batch 1.4e-1 (dynamic quantisation takes its activation scale over
                    the whole batch, so an int8 vector depends on its batch-mates: far above any CPU
                    difference, but the same on every machine for the same batches).

Embeddings are memoised on disk per backend (`--cache`), so a second run embeds nothing and the whole run
takes a few minutes; every variant still re-fits the router and rebuilds the indexes from those vectors.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

VARIANTS: dict[str, dict[str, Any]] = {
    "base": {},
    "onnx-int8": {"backend": "onnx-int8"},
    "torch": {"backend": "torch"},
    "blas-1thread": {"env": {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}},
    "blas-sandybridge": {"env": {"OPENBLAS_CORETYPE": "Sandybridge"}},
    "blas-nehalem": {"env": {"OPENBLAS_CORETYPE": "Nehalem"}},
    "numpy-x86v2": {"env": {"NPY_DISABLE_CPU_FEATURES": "X86_V3"}},
    "jitter-1e-6-s1": {"jitter": 1e-6, "seed": 1},
    "jitter-1e-5-s1": {"jitter": 1e-5, "seed": 1},
    "jitter-1e-4-s1": {"jitter": 1e-4, "seed": 1},
    "jitter-1e-4-s2": {"jitter": 1e-4, "seed": 2},
    "jitter-1e-3-s1": {"jitter": 1e-3, "seed": 1},
    "jitter-1e-3-s2": {"jitter": 1e-3, "seed": 2},
}
DEFAULT_SUITES = ("knowledge", "knowledge_18f", "knowledge_posthog", "routing")
# The default set fits in < 10 minutes on an idle 2-core machine once the embedding memo is warm (about a
# minute and a half per variant); --variants all runs every variant above.
DEFAULT_VARIANTS = ("base", "onnx-int8", "numpy-x86v2", "blas-1thread", "jitter-1e-4-s1", "jitter-1e-3-s1")
MIN_MARGIN, MIN_FLIPS = 0.01, 2


# -- the child: one variant, one process --------------------------------------------------------------


def memo_embedder(inner: Any, memo_path: Path, jitter: float, seed: int) -> Any:
    """`inner` with every text's vector memoised on disk and, for jitter variants, perturbed per text."""
    import numpy as np

    from knowledge.embedder import Embedder

    memo: dict[str, np.ndarray] = {}
    if memo_path.exists():
        with np.load(memo_path) as data:
            memo = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))

    class SpreadEmbedder(Embedder):
        def __init__(self) -> None:
            self.name = inner.name + (f"+jitter{jitter:g}s{seed}" if jitter else "")
            self.dim = inner.dim
            self.added = 0

        def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
            keys = [hashlib.sha1(t.encode("utf-8")).hexdigest() for t in texts]
            missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in memo}
            if missing:
                vectors = inner.encode(list(missing.values()), batch_size)
                memo.update(zip(missing, vectors, strict=True))
                self.added += len(missing)
            if not texts:
                return np.zeros((0, self.dim), dtype=np.float32)
            out = np.stack([memo[k] for k in keys]).astype(np.float32)
            if jitter:
                for i, k in enumerate(keys):
                    rng = np.random.default_rng(int(k[:15], 16) + seed)
                    out[i] *= 1.0 + jitter * rng.standard_normal(self.dim).astype(np.float32)
                out /= np.linalg.norm(out, axis=1, keepdims=True)
            return out

        def encode_query(self, text: str) -> np.ndarray:
            vec: np.ndarray = self.encode([text])[0]
            return vec

        def save(self) -> None:
            if self.added:
                tmp = memo_path.with_suffix(".tmp.npz")
                np.savez(tmp, keys=np.array(list(memo)), vectors=np.stack(list(memo.values())))
                tmp.replace(memo_path)

    return SpreadEmbedder()


def run_child(args: argparse.Namespace) -> int:
    from bot.settings import load_settings, offline_runtime
    from bot.wiring import open_runtime
    from evals.gate import flat_metrics
    from evals.harness import EvalEnv
    from evals.runner import Options, eval_settings, plan, run
    from knowledge.embedder import load_embedder

    spec = VARIANTS[args.child]
    backend = spec.get("backend", "onnx")
    work = Path(tempfile.mkdtemp(prefix=f"spread-{args.child}-"))
    cache = work / "cache"
    (cache).mkdir()
    models = args.cache / "models"
    models.mkdir(parents=True, exist_ok=True)
    (cache / "models").symlink_to(models)  # the ONNX export is shared; the router is re-fitted per variant
    settings = eval_settings(load_settings(cache_dir=cache, embedder_backend=backend))
    offline_runtime()
    inner = load_embedder(backend, cache_dir=models)
    embedder = memo_embedder(inner, args.cache / f"vectors-{backend}.npz", spec.get("jitter", 0.0), spec.get("seed", 0))
    env = EvalEnv(settings, open_runtime, work, cache / "eval")
    env._embedder = embedder
    options = Options(suites=args.suites.split(","), shared_corpora=args.shared_corpora, fast=args.fast)
    started = time.perf_counter()
    try:
        suites = asyncio.run(run(env, plan(options), options))
    finally:
        embedder.save()
        shutil.rmtree(work, ignore_errors=True)
    counts = {}
    for s in suites:
        for c in s.cases:
            for k in c.scores:
                counts[f"{s.name}.{k}"] = counts.get(f"{s.name}.{k}", 0) + 1
        for k in s.metrics:
            counts.setdefault(f"{s.name}.{k}", len(s.cases))
    out = {
        "variant": args.child,
        "seconds": round(time.perf_counter() - started, 1),
        "metrics": flat_metrics(suites),
        "counts": counts,
        "skipped": {s.name: s.skipped for s in suites if s.skipped},
        "passed": {f"{s.name}:{c.id}": c.passed for s in suites for c in s.cases},
    }
    args.out.write_text(json.dumps(out), encoding="utf-8")
    return 0


# -- the parent: run the variants, compare ------------------------------------------------------------


def run_variant(name: str, args: argparse.Namespace) -> dict[str, Any]:
    out = args.cache / f"result-{name}.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", **VARIANTS[name].get("env", {}))
    if "OPENBLAS_CORETYPE" in VARIANTS[name].get("env", {}):
        env.pop("OPENBLAS_L2_SIZE", None)
    cmd = [sys.executable, __file__, "--child", name, "--out", str(out), "--suites", args.suites]
    cmd += ["--cache", str(args.cache), "--shared-corpora", str(args.shared_corpora)] + (
        ["--fast"] if args.fast else []
    )
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=3600, check=False)
    if done.returncode != 0:
        raise SystemExit(f"variant {name} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return result


def proposed_floor(level: float, spread: float, n: int) -> tuple[float, float]:
    margin = max(2 * spread, MIN_MARGIN, MIN_FLIPS / n if n else MIN_MARGIN)
    return margin, math.floor((level - margin) * 1000) / 1000


def report(results: dict[str, dict[str, Any]]) -> None:
    base = results.get("base") or next(iter(results.values()))
    names = list(results)
    gated = sorted(k for k in base["metrics"] if not k.endswith(".cases") and not k.endswith("seconds"))
    print(
        f"\n{'metric':<44}" + "".join(f"{n[:12]:>13}" for n in names) + f"{'min':>8}{'max':>8}{'spread':>8}{'floor':>8}"
    )
    for m in gated:
        values = [results[n]["metrics"].get(m) for n in names]
        present = [v for v in values if v is not None]
        if not present:
            continue
        spread = max(present) - min(present)
        n = int(base["counts"].get(m, 0))
        margin, floor = proposed_floor(base["metrics"][m], spread, n)
        cells = "".join(f"{v:>13.4f}" if v is not None else f"{'-':>13}" for v in values)
        print(
            f"{m:<44}{cells}{min(present):>8.4f}{max(present):>8.4f}{spread:>8.4f}{floor:>8.3f}"
            f"  (N={n}, margin {margin:.3f})"
        )
    flips: dict[str, list[str]] = {}
    for n in names:
        for case, ok in results[n]["passed"].items():
            if base["passed"].get(case) is not None and ok != base["passed"][case]:
                flips.setdefault(case, []).append(n)
    print(f"\ncases whose pass/fail differs from base ({len(flips)}):")
    for case, where in sorted(flips.items()):
        print(f"  {case:<34} {', '.join(where)}")
    for n in names:
        if results[n]["skipped"]:
            print(f"{n}: skipped {results[n]['skipped']}")


def calibrate(cache: Path) -> None:
    """How far apart real vectors are: int8 vs fp32, and one text embedded alone vs in a batch (per backend)."""
    import numpy as np

    from knowledge.embedder import load_embedder

    files = sorted((ROOT / "knowledge" / "corpus").rglob("*.md"))[:3]
    sample = [p for f in files for p in f.read_text(encoding="utf-8").split("\n\n") if len(p.split()) > 5][:32]
    vectors = {}
    for backend in ("onnx-int8", "onnx"):
        embedder = load_embedder(backend, cache_dir=cache / "models")
        batched = embedder.encode(sample)
        alone = np.stack([embedder.encode_query(t) for t in sample])
        gap = np.linalg.norm(batched - alone, axis=1) / np.linalg.norm(alone, axis=1)
        print(
            f"{backend}: one text alone vs in a batch of {len(sample)}: median relative difference {np.median(gap):.1e}"
        )
        vectors[backend] = batched
    gap = np.linalg.norm(vectors["onnx-int8"] - vectors["onnx"], axis=1) / np.linalg.norm(vectors["onnx"], axis=1)
    print(f"int8 vs fp32: median relative difference {np.median(gap):.1e}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--variants", default=",".join(DEFAULT_VARIANTS), help=f"comma-separated, or 'all': {', '.join(VARIANTS)}"
    )
    p.add_argument("--fast", action="store_true", help="every second knowledge question, as `deskhand eval --fast`")
    p.add_argument("--suites", default=",".join(DEFAULT_SUITES), help="eval suites to run (comma-separated)")
    p.add_argument("--shared-corpora", type=Path, default=ROOT.parent / "shared" / "corpora")
    p.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "deskhand" / "spread")
    p.add_argument("--out", type=Path, help="write all variants' results here (JSON)")
    p.add_argument("--report-only", action="store_true", help="compare the variants' saved results, run nothing")
    p.add_argument("--child", choices=list(VARIANTS), help=argparse.SUPPRESS)
    args = p.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    if args.variants == "all":
        args.variants = ",".join(VARIANTS)
    if args.child:
        return run_child(args)
    results = {}
    if args.report_only:
        for name in args.variants.split(","):
            saved = args.cache / f"result-{name}.json"
            if saved.exists():
                results[name] = json.loads(saved.read_text(encoding="utf-8"))
        report(results)
        return 0
    calibrate(args.cache)
    for name in args.variants.split(","):
        started = time.perf_counter()
        results[name] = run_variant(name, args)
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"{name}: {time.perf_counter() - started:.0f} s (load average {load})", flush=True)
    report(results)
    if args.out:
        args.out.write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
