"""Which retrieval evidence transfers across corpora: candidate answer/decline signals, leave-one-corpus-out.

Usage: python bench/knowledge_evidence.py [--cache DIR] [--clinc FILE] [--dump FILE]

Reads the per-corpus indexes that bench/knowledge_loco.py builds (CACHE/indexes/{sample,18f,posthog}; run it
first). For every labelled question, every calibration probe and pseudo-question (knowledge/calibrate.py) and
300 of CLINC150's out-of-scope requests (CC BY 3.0, read from ../shared, never fitted on), it records the
engine's evidence score and candidate signals the score does not use:

  gap       the best dense cosine minus the mean of the next four (a question with one clear match)
  agree     the dense ranking's best chunk is among BM25's best three
  invocab   share of the question's content terms that occur anywhere in the corpus
  words     capitalised words no retrieved passage mentions (the score's W_WORD term, weight varied)
  shortcov  coverage shrunk for questions with few content terms (coverage saturates at 1.0 on "park the car")
  top1cov   coverage of the question by the top passage alone instead of the best of the top three

Each candidate adds `weight x signal` to the score. For each held-out corpus the weight is chosen on the two
other corpora (the one maximising the worse of "answerable answered" and "out-of-scope declined" there, ties
to the smaller weight), the boundary is recomputed per index with the shipped calibration formula on the
changed score, and the held-out corpus is scored: every fold is printed, not the mean. This is the knowledge
base's decision alone (`KnowledgeBase.answer`), which the agent consults before any decline; on today's engine
it agrees with the agent's route on 348 of 349 labelled questions.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from knowledge import calibrate  # noqa: E402
from knowledge.answer import TOP_K, W_COVERAGE, W_WORD, KnowledgeBase  # noqa: E402
from knowledge.embedder import Embedder, load_embedder  # noqa: E402
from knowledge.retrieve import dense_search  # noqa: E402

SHARED = next((p / "corpora" for p in (ROOT.parent / "shared", ROOT.parent.parent / "shared") if p.is_dir()), ROOT)
DATASETS = {"sample": "knowledge.jsonl", "18f": "knowledge_18f.jsonl", "posthog": "knowledge_posthog.jsonl"}
CLINC_SAMPLE = 300
WEIGHTS = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0)
Row = dict[str, Any]


def features(kb: KnowledgeBase, question: str, vec: np.ndarray) -> Row:
    """The engine's evidence for one question plus the candidate signals."""
    r = kb.retriever
    text = kb.query_text(question)
    hits = r.search(text, vec, TOP_K)
    q = kb.analyzer.question(text)
    ev = kb.evidence(q, hits)
    depth = min(len(r.chunks), 40)
    cos, ids = dense_search(r.dense, vec.reshape(1, -1), depth)
    lex = r.lexical_scores(r.query_terms(text))
    lex_top = [int(i) for i in np.argsort(-lex)[:3] if lex[i] > 0] if lex.any() else []
    top1 = 0.0
    if hits:
        c = hits[0].chunk
        blob = f"{c.title}. {c.heading}. {c.text}"
        top1 = kb.analyzer.coverage(q, {t for _, ts in kb.analyzer.sentences(c.id, blob) for t in ts})
    n_terms = len(q.terms)
    return {
        "score": ev.score,
        "coverage": ev.coverage,
        "top1cov": top1,
        "words": len(ev.missing_words),
        "gap": float(cos[0][0] - np.mean(cos[0][1:5])),
        "agree": float(int(ids[0][0]) in lex_top),
        "invocab": sum(t in kb.analyzer.df for t in q.terms) / n_terms if n_terms else 0.0,
        "nterms": n_terms,
    }


def _shrink(n_terms: int, w: float) -> float:
    return n_terms / (n_terms + w) if n_terms else 1.0


CANDIDATES: dict[str, Callable[[Row, float], float]] = {
    "gap": lambda f, w: f["score"] + w * f["gap"],
    "agree": lambda f, w: f["score"] + w * f["agree"],
    "invocab": lambda f, w: f["score"] + w * (f["invocab"] - 1.0),
    "words": lambda f, w: f["score"] + w * f["words"],  # w = W_WORD removes the penalty
    "shortcov": lambda f, w: f["score"] + W_COVERAGE * f["coverage"] * (_shrink(f["nterms"], w) - 1.0),
    "top1cov": lambda f, w: f["score"] + w * W_COVERAGE * (f["top1cov"] - f["coverage"]),
}


def _scorer(adjust: Callable[[Row, float], float], w: float) -> Callable[[Row], float]:
    return lambda f: adjust(f, w)


def boundary(rows: list[Row], score: Callable[[Row], float]) -> float:
    """calibrate.calibrate's formula on a changed score."""
    probes = [score(r) for r in rows if r["kind"] == "probe"]
    pseudo = [score(r) for r in rows if r["kind"] == "pseudo"]
    high = float(np.quantile(probes, calibrate.PROBE_QUANTILE)) + calibrate.MARGIN
    return min(high, float(np.quantile(pseudo, calibrate.SECTION_QUANTILE)) - calibrate.SECTION_MARGIN)


def rates(rows: list[Row], score: Callable[[Row], float]) -> dict[str, Any]:
    b = boundary(rows, score)
    ans = [score(r) >= b for r in rows if r["kind"] == "case" and r["expect"] == "answer"]
    out = [score(r) < b for r in rows if r["kind"] == "case" and r["expect"] != "answer"]
    clinc = [score(r) < b for r in rows if r["kind"] == "clinc"]
    return {
        "answered": (sum(ans), len(ans)),
        "declined": (sum(out), len(out)),
        "clinc": float(np.mean(clinc)) if clinc else None,
    }


def worse(r: dict[str, Any]) -> float:
    return min(r["answered"][0] / r["answered"][1], r["declined"][0] / r["declined"][1])


def bench_embedder() -> Embedder:
    return load_embedder("auto", Path(os.environ.get("DESKHAND_CACHE_DIR", Path.home() / ".cache")) / "models")


def clinc_sample(clinc_file: Path, n: int = CLINC_SAMPLE) -> list[str]:
    """`n` of CLINC150's out-of-scope test requests, the same ones every run (none when the file is absent)."""
    if not clinc_file.is_file():
        return []
    clinc = [t for t, _ in json.loads(clinc_file.read_text(encoding="utf-8"))["oos_test"]]
    random.Random(0).shuffle(clinc)
    return clinc[:n]


def corpora_items(cache: Path, embedder: Embedder, clinc: list[str]) -> Iterator[tuple[str, KnowledgeBase, list[Row]]]:
    """Per corpus with an index in `cache`: its knowledge base and the questions every signal bench scores
    (labelled cases, the calibration's pseudo-questions and probes, the CLINC150 sample)."""
    for name, dataset in DATASETS.items():
        index = cache / "indexes" / name
        if not index.is_dir():
            print(f"skipped {name}: no index at {index} (run bench/knowledge_loco.py first)")
            continue
        kb = KnowledgeBase.open(index, embedder)
        lines = (ROOT / "evals" / "datasets" / dataset).read_text(encoding="utf-8").splitlines()
        items: list[Row] = [{"kind": "case", **json.loads(line)} for line in lines if line.strip()]
        items += [{"kind": "pseudo", "question": q} for q in calibrate.pseudo_questions(kb.retriever.chunks)]
        items += [{"kind": "probe", "question": q} for q in calibrate.probes()]
        items += [{"kind": "clinc", "question": q} for q in clinc]
        yield name, kb, items


def collect(cache: Path, clinc_file: Path) -> dict[str, list[Row]]:
    embedder = bench_embedder()
    out: dict[str, list[Row]] = {}
    for name, kb, items in corpora_items(cache, embedder, clinc_sample(clinc_file)):
        vectors = embedder.encode([kb.query_text(i["question"]) for i in items])
        out[name] = [{**i, **features(kb, i["question"], v)} for i, v in zip(items, vectors, strict=True)]
    return out


def fmt(r: dict[str, Any]) -> str:
    (a, na), (d, nd) = r["answered"], r["declined"]
    clinc = f" clinc {r['clinc']:.3f}" if r["clinc"] is not None else ""
    return f"answered {a}/{na} {a / na:.3f}  declined {d}/{nd} {d / nd:.3f}{clinc}"


def dump(path: Path, corpora: dict[str, list[Row]]) -> None:
    """Every row with its corpus, one JSON line each (`--dump`); `undump` reads it back."""
    lines = (json.dumps({"corpus": c, **r}) + "\n" for c, rs in corpora.items() for r in rs)
    path.write_text("".join(lines), encoding="utf-8")


def undump(path: Path) -> dict[str, list[Row]]:
    corpora: dict[str, list[Row]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        corpora.setdefault(row.pop("corpus"), []).append(row)
    return corpora


def print_today(corpora: dict[str, list[Row]]) -> None:
    print("today's score (knowledge base decision):")
    for name, rows in corpora.items():
        print(f"  {name:<8} {fmt(rates(rows, lambda f: f['score']))}")


def leave_one_out(
    corpora: dict[str, list[Row]],
    name: str,
    adjust: Callable[[Row, float], float],
    weights: tuple[float, ...],
    note: Callable[[list[Row]], str] | None = None,
) -> float:
    """One candidate signal, every fold: its weight chosen on the other corpora (the one maximising the
    worse of answered and declined there, then their sum, ties to the smaller weight), the held-out corpus
    scored with it. Prints each fold; returns the worst fold's min(answered, declined)."""
    print(f"{name}: weight chosen on the two other corpora, scored on the held-out one")
    held_out = []
    for held, rows in corpora.items():
        train = [rs for n, rs in corpora.items() if n != held]

        def objective(w: float, train: list[list[Row]] = train) -> tuple[float, ...]:
            scores = [worse(rates(rs, _scorer(adjust, w))) for rs in train]
            return (min(scores), sum(scores), -w)

        w = max(weights, key=objective)
        r = rates(rows, _scorer(adjust, w))
        held_out.append(worse(r))
        print(f"  {held:<8} weight {w:<5} {fmt(r)}{note(rows) if note else ''}")
    print(f"  worst fold min(answered, declined) {min(held_out):.3f}")
    return min(held_out)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cache", type=Path, default=ROOT / ".deskhand" / "bench-loco", help="knowledge_loco's cache")
    p.add_argument("--clinc", type=Path, default=SHARED / "clinc150" / "data_full.json")
    p.add_argument("--dump", type=Path, help="write every row with its features (JSONL) here")
    args = p.parse_args()
    corpora = collect(args.cache, args.clinc)
    if len(corpora) < 2:
        print("need at least two corpora")
        return 1
    if args.dump:
        dump(args.dump, corpora)
    print_today(corpora)
    for cand, adjust in CANDIDATES.items():
        leave_one_out(corpora, cand, adjust, (*WEIGHTS, W_WORD) if cand == "words" else WEIGHTS)
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
