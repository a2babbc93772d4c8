"""Leave-one-corpus-out: each handbook's questions asked exactly as a user would, per fold and worst fold.

Usage: python bench/knowledge_loco.py [--corpora DIR] [--only NAME ...] [--dump FILE] [--cache DIR]

For every corpus (the sample handbook, 18F, PostHog) it builds or refreshes an index of that corpus alone
(`deskhand index build --source C --out CACHE/C`, incremental, so a re-run re-embeds nothing), then asks
all of the corpus's questions in one warm process: `deskhand ask --json --index DIR --batch FILE`. Each fold
is scored only on its own corpus, and nothing here is fitted on any labelled question: an engine that
calibrates must do so from the index (build time) or from the *other* corpora, which makes every fold a
held-out one. Reported per fold: hit@5 of the cited sources (a decline counts as a miss), fact recall
(an answer that is not an answer carries no fact), answered (answerable questions answered), out-of-scope
declined, and fact recall per answer length; then the worst fold per metric.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evals.metrics import DECLINED_ROUTES, contains_fact, hit_at, ranked_sources  # noqa: E402

SHARED = next((p / "corpora" for p in (ROOT.parent / "shared", ROOT.parent.parent / "shared") if p.is_dir()), ROOT)
ASKER = "ivy.chen@example.com"  # an ordinary employee of the sample directory, as in the eval suite
LENGTH_BUCKETS = (200, 300, 400, 500, 600)  # characters: a chat answer is at most ~600 (knowledge/compose.py)


@dataclass(frozen=True)
class Corpus:
    name: str
    root: Path
    dataset: Path


def corpora(shared: Path) -> list[Corpus]:
    data = ROOT / "evals" / "datasets"
    return [
        Corpus("sample", ROOT / "knowledge" / "corpus", data / "knowledge.jsonl"),
        Corpus("18f", shared / "18f-handbook", data / "knowledge_18f.jsonl"),
        Corpus("posthog", shared / "posthog-handbook", data / "knowledge_posthog.jsonl"),
    ]


def load_cases(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def score(cases: list[dict[str, Any]], replies: list[dict[str, Any]]) -> dict[str, Any]:
    """The fold's figures from the cases and the `ask --json` replies, in the same order."""
    if len(cases) != len(replies):
        raise SystemExit(f"got {len(replies)} replies for {len(cases)} questions")
    hits = facts = answered = declined = n_ans = n_out = 0
    by_length: dict[str, list[float]] = {}
    lengths: list[int] = []
    for case, reply in zip(cases, replies, strict=True):
        is_answer = reply.get("route") == "answer"
        if case["expect"] != "answer":  # no_answer and handoff: the bot must not answer from the index
            n_out += 1
            declined += reply.get("route") in DECLINED_ROUTES
            continue
        n_ans += 1
        cited = (
            ranked_sources(c["source"] for c in sorted(reply.get("citations") or [], key=lambda c: c.get("n", 0)))
            if is_answer
            else []
        )
        text = str(reply.get("answer") or "")
        ok = is_answer and all(contains_fact(text, f) for f in case["facts"])
        hits += hit_at(cited, case["expected_sources"], 5) == 1.0
        facts += ok
        answered += is_answer
        if is_answer:
            by_length.setdefault(_bucket(len(text)), []).append(float(ok))
            lengths.append(len(text))
    return {
        "answerable": n_ans,
        "out_of_scope": n_out,
        "hit_at_5": hits / n_ans if n_ans else None,
        "fact_recall": facts / n_ans if n_ans else None,
        "answered": answered / n_ans if n_ans else None,
        "oos_declined": declined / n_out if n_out else None,
        "fact_recall_by_length": {k: (sum(v) / len(v), len(v)) for k, v in sorted(by_length.items())},
        "answer_chars": _median_p95(lengths),
    }


def _median_p95(values: list[int]) -> tuple[int, int] | None:
    """Median and 95th percentile (nearest rank) of the answers' lengths in characters."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[(len(ordered) - 1) // 2], ordered[max(0, -(-95 * len(ordered) // 100) - 1)]


def _bucket(n: int) -> str:
    for limit in LENGTH_BUCKETS:
        if n <= limit:
            return f"<={limit}"
    return f">{LENGTH_BUCKETS[-1]}"


def _deskhand(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "bot", *args]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=3600, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args[:3])} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return done


def run_fold(corpus: Corpus, cache: Path, env: dict[str, str]) -> tuple[list[dict[str, Any]], float]:
    """Index the corpus (cached, incremental) and ask its questions in one warm process; (replies, seconds)."""
    index_dir = cache / "indexes" / corpus.name
    _deskhand("index", "build", "--source", str(corpus.root), "--out", str(index_dir), env=env)
    cases = load_cases(corpus.dataset)
    batch = cache / f"{corpus.name}.questions.jsonl"
    batch.write_text("".join(json.dumps({"question": c["question"]}) + "\n" for c in cases), encoding="utf-8")
    args = ("ask", "--json", "--user", ASKER, "--index", str(index_dir), "--batch", str(batch))
    cmd = [sys.executable, "-m", "bot", *args]
    replies: list[dict[str, Any]] = []
    stamps: list[float] = []
    started = time.perf_counter()
    with subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:  # one flushed line per answer: the gaps are the warm per-question latencies
            if line.startswith("{"):
                stamps.append(time.perf_counter())
                replies.append(json.loads(line))
        err = proc.stderr.read() if proc.stderr else ""
        if proc.wait(timeout=3600) != 0:
            raise SystemExit(f"ask failed ({proc.returncode}):\n{err[-2000:]}")
    seconds = time.perf_counter() - started
    WARM[corpus.name] = [b - a for a, b in itertools.pairwise(stamps)]
    return replies, seconds


WARM: dict[str, list[float]] = {}  # per fold: seconds between consecutive answers of the warm process


def worst(folds: dict[str, dict[str, Any]], metrics: Iterable[str]) -> dict[str, tuple[str, float]]:
    out = {}
    for m in metrics:
        values = [(name, f[m]) for name, f in folds.items() if f.get(m) is not None]
        if values:
            out[m] = min(values, key=lambda item: item[1])
    return out


METRICS = ("hit_at_5", "fact_recall", "answered", "oos_declined")


def print_report(folds: dict[str, dict[str, Any]], label: str) -> None:
    print(f"\n{label}")
    print(f"{'fold':<10}{'n':>5}{'oos':>5}" + "".join(f"{m:>14}" for m in METRICS))
    for name, f in folds.items():
        cells = "".join(f"{f[m]:>14.3f}" if f[m] is not None else f"{'-':>14}" for m in METRICS)
        print(f"{name:<10}{f['answerable']:>5}{f['out_of_scope']:>5}{cells}")
    w = worst(folds, METRICS)
    print(f"{'worst':<20}" + "".join(f"{w[m][1]:>9.3f} {w[m][0][:4]:<4}" if m in w else f"{'-':>14}" for m in METRICS))
    for name, f in folds.items():
        parts = ", ".join(f"{k} chars {v:.2f} (n={n})" for k, (v, n) in f["fact_recall_by_length"].items())
        sizes = f["answer_chars"]
        size = f"; answer length median {sizes[0]}, p95 {sizes[1]} characters" if sizes else ""
        print(f"  {name}: fact recall of answers by length: {parts or '-'}{size}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--corpora", type=Path, default=SHARED, help="18F + PostHog here")
    p.add_argument("--only", action="append", choices=("sample", "18f", "posthog"), help="run only these folds")
    p.add_argument("--cache", type=Path, default=ROOT / ".deskhand" / "bench-loco", help="indexes and data dir")
    p.add_argument("--dump", type=Path, help="write every case with its reply (JSONL) here")
    args = p.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    # The CLI runs on its own embedded stores in the cache folder: nothing of the caller's data is touched.
    env = dict(os.environ, DESKHAND_DATA_DIR=str(args.cache / "data"), HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT))
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    folds: dict[str, dict[str, Any]] = {}
    dump = []
    for corpus in corpora(args.corpora):
        if args.only and corpus.name not in args.only:
            continue
        if not corpus.root.is_dir():
            print(f"skipped {corpus.name}: no corpus at {corpus.root} (pass --corpora DIR)")
            continue
        replies, seconds = run_fold(corpus, args.cache, env)
        cases = load_cases(corpus.dataset)
        folds[corpus.name] = score(cases, replies)
        print(f"{corpus.name}: {len(cases)} questions in {seconds:.1f} s (one warm `deskhand ask --batch`)")
        dump += [{"fold": corpus.name, **c, "reply": r} for c, r in zip(cases, replies, strict=True)]
    if not folds:
        print("no fold ran")
        return 1
    print_report(folds, "today's engine, leave-one-corpus-out (each fold scored on its own corpus only)")
    for name, gaps in WARM.items():
        if gaps:
            p50, p95 = (sorted(gaps)[int(q * (len(gaps) - 1))] * 1000 for q in (0.5, 0.95))
            print(f"  {name}: warm `deskhand ask` per question (whole agent): p50 {p50:.0f} ms, p95 {p95:.0f} ms")
    print(f"load average: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    if args.dump:
        args.dump.write_text("".join(json.dumps(d) + "\n" for d in dump), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
