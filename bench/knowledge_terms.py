"""Term-level support as an answer/decline signal, leave-one-corpus-out (issue 10).

Usage: python bench/knowledge_terms.py [--cache DIR] [--clinc FILE] [--dump FILE | --load FILE] [--show N]

A near-miss question shares the handbook's topic but asks for a detail it lacks ("life insurance payout", "401k
vesting", "pet insurance"). This measures whether the support of each content term of the question (stemmed,
stopwords dropped, IDF-weighted as the engine's coverage) separates such questions from answerable ones worded
colloquially. A term's support by a passage is 1.0 when the passage has its stem, else the best MiniLM cosine
between the term's word and any of the passage's words, each embedded alone ("pet" ~ "human" 0.49). Candidates:

  softcov, softcov3   IDF-weighted soft coverage by the best passage / by the union of the top three
  minsup, minsalient  the least supported term / among the terms of at least half the question's largest IDF
  minfocal, focalcov  the least supported term with its shortfall scaled by its focal weight (the term word's
                      cosine with the question) / soft coverage weighted by IDF x focal
  loocov, loomin,     the same with leave-one-out salience (how far the question's embedding moves when the
  loofocus            term's word is removed), and the support of the single most salient term
  sent, sent2         IDF coverage by one sentence (two consecutive ones) read under its title and heading
  sentsoft, sent2soft the same with soft support
  scatter, scatter2,  sentence coverage minus passage coverage: terms stated together, or scattered over a
  scatter2soft        passage ("401k" in one paragraph, "vesting" in another)

Each adds `weight x (signal - 1)` to the engine's evidence score. The selection and scoring are
bench/knowledge_evidence.py's: for each held-out corpus the weight is chosen on the two other corpora (maximising
the worse of "answerable answered" and "out-of-scope declined" there), the boundary is recomputed per index with
the shipped calibration formula on the changed score, and the held-out corpus is scored, with 300 CLINC150
out-of-scope requests (CC BY 3.0, never fitted on) per index; every fold is printed. Also printed: the best the
corpus's own labels reach with any weight and boundary (an upper bound, not a held-out figure). Run
bench/knowledge_loco.py first: it builds the per-corpus indexes this reads.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import knowledge_evidence as ke

from knowledge.answer import TOP_K, KnowledgeBase
from knowledge.chunking import split_sentences
from knowledge.embedder import Embedder
from knowledge.extract import _CODE_HYPHEN, _TOKEN, STOPWORDS

Row = dict[str, Any]
SIGNALS = (
    *("softcov", "softcov3", "minsup", "minsalient", "minfocal", "focalcov", "loocov", "loomin", "loofocus"),
    *("sent", "sentsoft", "sent2", "sent2soft", "scatter", "scatter2", "scatter2soft"),
)
WEIGHTS = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0)


def words_of(text: str) -> list[str]:
    """The content words of a text as `terms()` reads them, before stemming (lower-cased, stopwords dropped)."""
    return [w for w in _TOKEN.findall(_CODE_HYPHEN.sub(r"\1\2", text.lower())) if w not in STOPWORDS]


class WordVectors:
    """Single-word MiniLM vectors, embedded once per distinct word."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self.cache: dict[str, np.ndarray] = {}

    def add(self, words: set[str]) -> None:
        todo = sorted(w for w in words if w not in self.cache)
        if todo:
            for w, v in zip(todo, self.embedder.encode(todo, batch_size=256), strict=True):
                self.cache[w] = v

    def matrix(self, words: list[str]) -> np.ndarray:
        return np.stack([self.cache[w] for w in words]) if words else np.zeros((0, self.embedder.dim), np.float32)


def prepare(kb: KnowledgeBase, question: str, vec: np.ndarray) -> Row:
    """The question's terms with their surface words, and the top three passages' words and stems."""
    text = kb.query_text(question)
    hits = kb.retriever.search(text, vec, TOP_K)
    q = kb.analyzer.question(text)
    surface = words_of(text)
    # Analyzer.question keeps one term per surface word, in order (a misspelling mapped to a corpus term).
    pairs = dict(reversed(list(zip(q.terms, surface, strict=True))))
    passages = []
    stem = kb.analyzer.stem
    for hit in hits[:3]:
        c = hit.chunk
        words = sorted(set(words_of(f"{c.title}. {c.heading}. {c.text}")))
        position = {w: i for i, w in enumerate(words)}
        context = {position[w] for w in words_of(f"{c.title}. {c.heading}")}
        sentences = [words_of(s) for line in c.text.split("\n") for s in split_sentences(line.strip())]
        # Each sentence read under its heading, alone and with the next one: the words a fact would sit in.
        units = [
            sorted(context | {position[w] for s in sentences[i : i + 1 + span] for w in s})
            for span in (0, 1)
            for i in range(len(sentences))
        ]
        passages.append(
            {
                "word_stems": list(stem(words)) if stem else words,
                "words": words,
                "units": units,
                "n": len(sentences),
            }
        )
    terms = [(t, pairs[t], q.weights[t]) for t in dict.fromkeys(q.terms)]
    # The question without each term's word: how far its meaning moves is the term's salience to the ask.
    without = [" ".join(re.sub(rf"(?i)\b{re.escape(w)}\b", " ", text).split()) for _, w, _ in terms]
    return {"terms": terms, "passages": passages, "vec": vec, "without": without}


def supports(prep: Row, wv: WordVectors) -> Row:
    """The candidate signals of one question (see the module docstring)."""
    terms = prep["terms"]
    if not terms:
        return {"t_words": [], "t_sup": [], **dict.fromkeys(SIGNALS, 0.0)}
    tvecs = wv.matrix([s for _, s, _ in terms])
    idf = np.array([w for _, _, w in terms])
    sups = []
    units = dict.fromkeys(("sent", "sentsoft", "sent2", "sent2soft"), 0.0)
    for p in prep["passages"]:
        sims = np.clip(tvecs @ wv.matrix(p["words"]).T, 0.0, 1.0)
        for i, (t, _, _) in enumerate(terms):  # a passage word with the term's stem supports it fully
            sims[i, [j for j, st in enumerate(p["word_stems"]) if st == t]] = 1.0
        sups.append(sims.max(axis=1) if sims.shape[1] else np.zeros(len(terms)))
        for k, unit in enumerate(p["units"]):
            if not unit:
                continue
            part = sims[:, unit]
            key = "sent" if k < p["n"] else "sent2"
            units[key] = max(units[key], float((part >= 1.0).any(axis=1) @ idf) / idf.sum())
            units[key + "soft"] = max(units[key + "soft"], float(part.max(axis=1) @ idf) / idf.sum())
    sup = np.array(sups).max(axis=0)  # each term's best support among the top three passages
    focal = np.clip(tvecs @ prep["vec"], 0.0, None)
    loo = np.clip(np.array(prep["loo"]), 1e-6, None)
    softcov = float(max(s @ idf for s in sups)) / idf.sum()
    return {
        "t_words": [s for _, s, _ in terms],
        "t_sup": sup.tolist(),
        "softcov": softcov,
        "softcov3": float(sup @ idf) / idf.sum(),
        "minsup": float(sup.min()),
        "minsalient": float(sup[idf >= 0.5 * idf.max()].min()),
        "minfocal": _min_scaled(sup, focal),
        "focalcov": float(sup @ (idf * focal)) / float((idf * focal).sum() or 1.0),
        "loocov": float(sup @ loo) / float(loo.sum()),
        "loomin": _min_scaled(sup, loo),
        "loofocus": float(sup[int(np.argmax(loo))]),
        **units,
        "scatter": 1.0 + units["sent"] - prep["coverage"],
        "scatter2": 1.0 + units["sent2"] - prep["coverage"],
        "scatter2soft": 1.0 + units["sent2soft"] - softcov,
    }


def _min_scaled(sup: np.ndarray, weight: np.ndarray) -> float:
    """The least supported term, each term's shortfall scaled by its weight relative to the question's largest."""
    scale = weight / weight.max() if weight.max() > 0 else np.ones_like(weight)
    return float((1.0 - scale * (1.0 - sup)).min())


def collect(cache: Path, clinc_file: Path) -> dict[str, list[Row]]:
    embedder = ke.bench_embedder()
    wv = WordVectors(embedder)
    out: dict[str, list[Row]] = {}
    for name, kb, items in ke.corpora_items(cache, embedder, ke.clinc_sample(clinc_file)):
        vectors = embedder.encode([kb.query_text(i["question"]) for i in items])
        preps = [prepare(kb, i["question"], v) for i, v in zip(items, vectors, strict=True)]
        variants = embedder.encode([w for p in preps for w in p["without"]])
        start = 0
        for p in preps:
            p["loo"] = (1.0 - variants[start : start + len(p["without"])] @ p["vec"]).tolist()
            start += len(p["without"])
        wv.add(
            {s for p in preps for _, s, _ in p["terms"]}
            | {w for p in preps for ps in p["passages"] for w in ps["words"]}
        )
        rows = [{**i, **ke.features(kb, i["question"], v)} for i, v in zip(items, vectors, strict=True)]
        out[name] = [{**r, **supports({**p, "coverage": r["coverage"]}, wv)} for r, p in zip(rows, preps, strict=True)]
        print(f"{name}: {len(items)} questions, {len(wv.cache)} distinct words embedded so far", flush=True)
    return out


def _adjust(signal: str) -> Callable[[Row, float], float]:
    return lambda f, w: f["score"] + w * (f[signal] - 1.0)


def show(corpora: dict[str, list[Row]], n: int) -> None:
    """Per corpus: the labelled questions on the wrong side of today's boundary with their two least supported
    terms, and each signal's median per kind of question."""
    for name, rows in corpora.items():
        b = ke.boundary(rows, lambda f: f["score"])
        print(f"{name}: labelled questions on the wrong side of the boundary {b:.2f}")
        for r in rows:
            if r["kind"] == "case" and (r["score"] >= b) != (r["expect"] == "answer"):
                weakest = ", ".join(f"{w} {x:.2f}" for x, w in sorted(zip(r["t_sup"], r["t_words"], strict=True))[:2])
                print(f"  {r['expect'][:6]:<6} {r['score']:.2f} [{weakest}] {r['question'][:n]}")
        groups = {
            "answerable": [r for r in rows if r["kind"] == "case" and r["expect"] == "answer"],
            "out-of-scope": [r for r in rows if r["kind"] == "case" and r["expect"] != "answer"],
            **{kind: [r for r in rows if r["kind"] == kind] for kind in ("pseudo", "probe", "clinc")},
        }
        for kind, part in groups.items():
            print(f"  median, {kind:<12}: " + " ".join(f"{k} {np.median([r[k] for r in part]):.2f}" for k in SIGNALS))


def own_best(rows: list[Row], adjust: Callable[[Row, float], float]) -> float:
    """The best min(answered, declined) any weight and boundary reach on the corpus's own labels."""
    best = 0.0
    for w in WEIGHTS:
        ans = np.array([adjust(r, w) for r in rows if r["kind"] == "case" and r["expect"] == "answer"])
        out = np.array([adjust(r, w) for r in rows if r["kind"] == "case" and r["expect"] != "answer"])
        best = max(best, max(min((ans >= b).mean(), (out < b).mean()) for b in (*ans, *out)))
    return best


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cache", type=Path, default=ke.ROOT / ".deskhand" / "bench-loco", help="knowledge_loco's cache")
    p.add_argument("--clinc", type=Path, default=ke.SHARED / "clinc150" / "data_full.json")
    p.add_argument("--dump", type=Path, help="write every row with its features (JSONL) here")
    p.add_argument("--load", type=Path, help="read the rows of an earlier --dump instead of computing them")
    p.add_argument("--show", type=int, default=0, help="list misjudged labelled questions (N characters each)")
    args = p.parse_args()
    corpora = ke.undump(args.load) if args.load else collect(args.cache, args.clinc)
    if len(corpora) < 2:
        print("need at least two corpora")
        return 1
    if args.dump:
        ke.dump(args.dump, corpora)
    if args.show:
        show(corpora, args.show)
    ke.print_today(corpora)
    for cand in SIGNALS:
        adjust = _adjust(cand)

        def note(rows: list[Row], adjust: Any = adjust) -> str:
            return f"  (own labels, any weight: {own_best(rows, adjust):.3f})"

        ke.leave_one_out(corpora, cand, adjust, WEIGHTS, note)
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
