"""'Show full section': how often answers offer it, how much the offered sections add, and the section look-up time.

Usage: python bench/knowledge_section.py [--set sample --set 18f --set posthog] [--backend auto]
Builds (incrementally) an index per set under --index-dir, asks every answerable question of its dataset and
prints, per set: answers found, how many the old rule ("any sentence left out") offered the section for, how
many `adds_material` offers it for, the left-out characters of the answers the threshold drops, and the time
of one section look-up by a scan over every chunk (the old way) and through `Sections` (a dict read), best of
seven rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.knowledge_quality import SETS  # noqa: E402
from knowledge.answer import KnowledgeBase  # noqa: E402
from knowledge.embedder import load_embedder  # noqa: E402
from knowledge.index import build_index  # noqa: E402
from knowledge.section import MIN_EXTRA_CHARS, Sections, left_out  # noqa: E402
from knowledge.types import Chunk  # noqa: E402


def scan_lookup(chunks: list[Chunk], chunk_id: int) -> list[Chunk]:
    """The old look-up: every chunk read twice (find the chunk, then its section's chunks)."""
    chunk = next(c for c in chunks if c.id == chunk_id)
    return sorted((c for c in chunks if c.source == chunk.source and c.heading == chunk.heading), key=lambda c: c.id)


ROUNDS = 7  # the best round of each timing is reported: the machine is shared, its noise only adds


def timed(fn: Callable[[int], object], ids: list[int]) -> float:
    """Seconds per look-up over `ids`, best of ROUNDS rounds."""
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for chunk_id in ids:
            fn(chunk_id)
        best = min(best, (time.perf_counter() - started) / max(len(ids), 1))
    return best


def measure(name: str, kb: KnowledgeBase, cases: list[dict], dropped_out: list[dict]) -> None:
    found = old = new = 0
    for case in cases:
        if case.get("expect") != "answer":
            continue
        ans = kb.answer(case["question"])
        if not ans.found or not ans.citations:
            continue
        found += 1
        first = ans.citations[0]  # the quoted section: any chunk of it gives the same text
        top = next(h.chunk for h in ans.hits if (h.chunk.source, h.chunk.heading) == (first.source, first.heading))
        missing = left_out(ans.text, kb.sections.of(top.id).text)
        extra = sum(len(s) for s in missing)
        old += bool(missing)
        new += ans.section is not None
        if missing and ans.section is None:
            dropped_out.append({"set": name, "id": case["id"], "chars": extra, "left_out": missing})
    chunks = kb.retriever.chunks
    ids = [c.id for c in chunks[:: max(1, len(chunks) // 200)]]
    build_s = float("inf")
    for _ in range(ROUNDS):
        built = time.perf_counter()
        sections = Sections(chunks, cache_size=0)
        build_s = min(build_s, time.perf_counter() - built)
    scan = timed(lambda i: scan_lookup(chunks, i), ids)
    indexed = timed(lambda i: sections._members[(sections._by_id[i].source, sections._by_id[i].heading)], ids)
    joined = timed(sections.of, ids)
    print(
        f"{name:7s} answers {found}: offered by 'any sentence left out' {old}, by adds_material "
        f"(>= {MIN_EXTRA_CHARS} chars) {new}; {len(chunks)} chunks in {len(sections)} sections, index built in "
        f"{build_s * 1000:.1f} ms; look-up: scan {scan * 1e6:.0f} us, dict {indexed * 1e6:.1f} us "
        f"(with the join, uncached: {joined * 1e6:.0f} us)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=sorted(SETS), action="append", help="named corpus+dataset (repeatable)")
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--index-dir", type=Path, default=Path(tempfile.gettempdir()) / "deskhand-bench-index")
    parser.add_argument("--model-cache", type=Path, default=Path(tempfile.gettempdir()) / "deskhand-models")
    parser.add_argument("--dump", type=Path, help="write the answers no longer offered (and what they left out)")
    args = parser.parse_args()
    embedder = load_embedder(args.backend, args.model_cache)
    dropped: list[dict] = []
    for name in args.set or ["sample", "18f", "posthog"]:
        corpus, dataset = SETS[name]
        out = args.index_dir / f"{name}-{embedder.name.replace('/', '_')}"
        build_index([corpus], out, embedder)
        kb = KnowledgeBase.open(out, embedder)
        cases = [json.loads(line) for line in dataset.read_text().splitlines() if line.strip()]
        measure(name, kb, cases, dropped)
    for row in dropped:
        print(f"  no longer offered: {row['set']} {row['id']} ({row['chars']} chars left out)")
    if args.dump:
        args.dump.write_text("".join(json.dumps(d) + "\n" for d in dropped))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
