"""Two more evidence ideas, leave-one-corpus-out: query variants for colloquial wording, answer-type agreement.

Usage: python bench/knowledge_hit.py [--cache DIR] [--clinc FILE] [--clinc-n N] [--dump FILE] [--load FILE]

Reads the per-corpus indexes that bench/knowledge_loco.py builds (CACHE/indexes/{sample,18f,posthog}; run it
first) and scores them exactly as bench/knowledge_evidence.py does: each candidate adds `weight x signal` to
the engine's evidence score, the weight is chosen on the two other corpora (maximising the worse of
"answerable answered" and "out-of-scope declined" there, ties to the smaller weight), the boundary is
recomputed per index with the shipped calibration formula on the changed score, and the held-out corpus is
scored; every fold is printed, and the worst. CLINC150's `oos_test` requests (CC BY 3.0, read from
../shared, never fitted on) are scored with each fold's boundary as bench/knowledge_oos.py does.

Candidates (generic English only; nothing keyed to a corpus):

  content   the best top-3 cosine of a content-word form of the question (stopwords, pronouns, interjections,
            hedges and chit-chat removed, the rest in the original order), when it beats the question's own
  plain     the same with only interjections, hedges and chit-chat removed (the grammar kept)
  heading   the best top-3 cosine of the question against a passage's heading path alone (title > heading)
  variants  the best of the three above
  whtype    the answer type the question's wh-form asks for (how much/many → amount, how long/when → time,
            who → person/role/team, which tool/where → named thing or link; bench/knowledge_types.py), and
            whether the whole answer the engine would compose carries it: (share of asked types present) - 1,
            0 for an untyped question
  whspan    the same on the span the composer ranks first; whsent on that span's best sentence
  cuetype   the same on the whole answer with the engine's own answer cues (knowledge/answer_cues.yaml)
  whmatch   the bonus side: +1 for a typed question whose first span carries every asked type
  whboth    both sides: +1 carried, -1 missing, 0 untyped

--dump writes every row with its features; --load reads such a dump and re-scores it without the indexes.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from knowledge_evidence import (  # noqa: E402
    SHARED,
    Row,
    bench_embedder,
    clinc_sample,
    corpora_items,
    dump,
    features,
    leave_one_out,
    print_today,
    undump,
)
from knowledge_types import agreement, asks  # noqa: E402

from knowledge.answer import TOP_K, W_DENSE, KnowledgeBase  # noqa: E402
from knowledge.chunking import split_sentences  # noqa: E402
from knowledge.compose import ANSWER_CHUNKS  # noqa: E402
from knowledge.extract import STOPWORDS, Question, _fact_kinds, terms  # noqa: E402
from knowledge.types import Hit  # noqa: E402

# Interjections, hedges and chit-chat: words that say how a person asks, not what they ask about.
_FILLER_TEXT = """oops whoops um umm uh uhh hmm er erm ah oh wow well ok okay hi hey hello thanks thank please
sorry quick question wondering wonder curious guess maybe perhaps basically actually really roughly kinda sorta
honestly literally anyway btw lol probably approximately exactly sure pretty quite"""
FILLERS = frozenset(_FILLER_TEXT.split())
_WORD = re.compile(r"[\w][\w'’-]*")
_CONTRACTION = re.compile(r"['’](?:s|ve|re|ll|d|m|t)\b", re.IGNORECASE)
WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)


def content_form(text: str) -> str:
    """Only the content words, in the original order (case kept; an acronym such as "US" is not "us")."""
    words = _WORD.findall(_CONTRACTION.sub("", text))
    kept = [w for w in words if len(w) > 1 and (w.isupper() or w.lower() not in STOPWORDS | FILLERS)]
    return " ".join(kept) or text


def plain_form(text: str) -> str:
    """The question without interjections, hedges and chit-chat (its grammar kept)."""
    out = [w for w in re.split(r"(\s+)", text) if w.strip(",.!?;:…").lower() not in FILLERS]
    return re.sub(r"\s+", " ", "".join(out)).strip(" ,") or text


def _top_cos(vectors: np.ndarray, ids: list[int], vec: np.ndarray) -> float:
    return float(np.max(vectors[ids] @ vec)) if ids else 0.0


def best_span(kb: KnowledgeBase, q: Question, hits: list[Hit]) -> tuple[str, str]:
    """The span the composer ranks first (its answer's lead) and that span's best sentence."""
    comp, best = kb.composer, None
    best_fused = hits[0].score or 1.0
    for h_idx, hit in enumerate(hits[:ANSWER_CHUNKS]):
        heading = frozenset(terms(hit.chunk.heading, kb.analyzer.stem))
        prior = 0.5 * (hit.score / best_fused) + 0.5 * max(hit.dense, 0.0)
        for pos, span in enumerate(comp.spans(hit)):
            cand = comp._score(q, span, heading, prior, h_idx, pos)
            if cand.text and (best is None or cand.score > best.score):
                best = cand
    if best is None:
        return "", ""
    flat = [
        (sc, s.text)
        for line, scs in zip(best.span.lines, best.sentences, strict=True)
        for sc, s in zip(scs, line.sentences, strict=True)
    ]
    return best.text, max(flat)[1]


def extra(kb: KnowledgeBase, question: str, vecs: dict[str, np.ndarray], heads: dict[int, np.ndarray]) -> Row:
    r = kb.retriever
    text = kb.query_text(question)
    q = kb.analyzer.question(text)
    hits = r.search(text, vecs["q"], TOP_K)
    top = [h.chunk.id for h in hits[:3]]
    answer, span, sentence = "", "", ""
    if hits:
        span, sentence = best_span(kb, q, hits)
        body, _ = kb.composer.compose(q, hits)
        answer = re.sub(r"\s?\[\d+\]", "", body)
    sentences = [s for line in answer.split("\n") for s in split_sentences(line.strip())]
    cue_has = set().union(*(_fact_kinds(s)[0] for s in sentences)) if sentences else set()
    head = max((float(heads[i] @ vecs["q"]) for i in top), default=0.0)
    return {
        "dense": max((h.dense for h in hits[:3]), default=0.0),
        "d_content": _top_cos(r.vectors, top, vecs["content"]),
        "d_plain": _top_cos(r.vectors, top, vecs["plain"]),
        "d_heading": head,
        "whtype": agreement(text, answer),
        "typed": bool(asks(text)),
        "whspan": agreement(text, span),
        "whsent": agreement(text, sentence),
        "cuetype": len(q.kinds & cue_has) / len(q.kinds) - 1.0 if q.kinds else 0.0,
    }


def _gain(f: Row, *keys: str) -> float:
    return max(0.0, max(f[k] for k in keys) - f["dense"])


CANDIDATES: dict[str, Callable[[Row, float], float]] = {
    "content": lambda f, w: f["score"] + w * W_DENSE * _gain(f, "d_content"),
    "plain": lambda f, w: f["score"] + w * W_DENSE * _gain(f, "d_plain"),
    "heading": lambda f, w: f["score"] + w * W_DENSE * _gain(f, "d_heading"),
    "variants": lambda f, w: f["score"] + w * W_DENSE * _gain(f, "d_content", "d_plain", "d_heading"),
    "whtype": lambda f, w: f["score"] + w * f["whtype"],
    "whspan": lambda f, w: f["score"] + w * f["whspan"],
    "whsent": lambda f, w: f["score"] + w * f["whsent"],
    "cuetype": lambda f, w: f["score"] + w * f["cuetype"],
    "whmatch": lambda f, w: f["score"] + w * (f["typed"] and f["whspan"] == 0.0),  # the bonus side
    "whboth": lambda f, w: f["score"] + w * (f["typed"] * (1.0 + 2.0 * f["whspan"])),
}


def collect(cache: Path, clinc_file: Path, clinc_n: int) -> dict[str, list[Row]]:
    embedder = bench_embedder()
    clinc = clinc_sample(clinc_file, clinc_n)
    memo: dict[str, np.ndarray] = {}

    def embed(texts: list[str]) -> list[np.ndarray]:
        todo = list(dict.fromkeys(t for t in texts if t not in memo))
        for t, v in zip(todo, embedder.encode(todo), strict=True):
            memo[t] = v
        return [memo[t] for t in texts]

    out: dict[str, list[Row]] = {}
    for name, kb, items in corpora_items(cache, embedder, clinc):
        chunks = kb.retriever.chunks
        texts = [kb.query_text(i["question"]) for i in items]
        qv = embed(texts)
        cv = embed([content_form(t) for t in texts])
        pv = embed([plain_form(t) for t in texts])
        tops = {h.chunk.id for t, v in zip(texts, qv, strict=True) for h in kb.retriever.search(t, v, 3)}
        ids = sorted(tops)
        paths = [" > ".join(p for p in (chunks[i].title, chunks[i].heading) if p) for i in ids]
        heads = dict(zip(ids, embed(paths), strict=True))
        rows = []
        for i, t, v, c, p in zip(items, texts, qv, cv, pv, strict=True):
            vecs = {"q": v, "content": c, "plain": p}
            rows.append({**i, **features(kb, i["question"], v), **extra(kb, t, vecs, heads)})
        out[name] = rows
        print(f"collected {name}: {len(rows)} rows", flush=True)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cache", type=Path, default=ROOT / ".deskhand" / "bench-loco", help="knowledge_loco's cache")
    p.add_argument("--clinc", type=Path, default=SHARED / "clinc150" / "data_full.json")
    p.add_argument("--clinc-n", type=int, default=1000, help="CLINC150 oos_test requests (1,000 = all)")
    p.add_argument("--dump", type=Path, help="write every row with its features (JSONL) here")
    p.add_argument("--load", type=Path, help="read the rows from an earlier --dump instead of collecting")
    args = p.parse_args()
    corpora = undump(args.load) if args.load else collect(args.cache, args.clinc, args.clinc_n)
    if len(corpora) < 2:
        print("need at least two corpora")
        return 1
    if args.dump:
        dump(args.dump, corpora)
    print_today(corpora)
    for cand, adjust in CANDIDATES.items():
        leave_one_out(corpora, cand, adjust, WEIGHTS)
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
