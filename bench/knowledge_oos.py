"""Unseen out-of-scope probes: how often each index's knowledge base declines CLINC150's out-of-scope requests.

Usage: python bench/knowledge_oos.py --index NAME=DIR [--index NAME=DIR ...] [--clinc FILE] [--split oos_test]

CLINC150 (Larson et al., EMNLP 2019, CC BY 3.0; `../shared/corpora/clinc150/data_full.json`, never copied
into the repository) holds 1,000 real assistant requests outside any of its 150 intents (`oos_test`). None of
them is used to set any threshold: the calibration probes are knowledge/data/probes.yaml, written for this
project. Each index (e.g. the ones bench/knowledge_loco.py builds under its cache) is opened with the default
embedder, and every utterance is put to the knowledge base alone (`KnowledgeBase.answer`, the decision the
agent consults before it declines); reported: the share declined, and the answered ones with the least support
for a look.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from knowledge.answer import KnowledgeBase  # noqa: E402
from knowledge.embedder import load_embedder  # noqa: E402

SHARED = next((p for p in (ROOT.parent / "shared", ROOT.parent.parent / "shared") if p.is_dir()), ROOT)
CLINC = SHARED / "corpora" / "clinc150" / "data_full.json"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--index", action="append", required=True, help="NAME=DIR of a built index")
    p.add_argument("--clinc", type=Path, default=CLINC)
    p.add_argument("--split", default="oos_test")
    p.add_argument("--show", type=int, default=5, help="answered utterances to print per index")
    args = p.parse_args()
    items = [text for text, _ in json.loads(args.clinc.read_text(encoding="utf-8"))[args.split]]
    embedder = load_embedder("auto", Path.home() / ".cache" / "deskhand" / "models")
    vectors = embedder.encode(items)
    print(f"{len(items)} CLINC150 {args.split} utterances (CC BY 3.0), load {os.getloadavg()[0]:.1f}")
    for spec in args.index:
        name, _, directory = spec.partition("=")
        kb = KnowledgeBase.open(Path(directory), embedder)
        answered = []
        for text, vec in zip(items, vectors, strict=True):
            ans = kb.answer(text, query_vec=vec)
            if ans.found:
                answered.append((ans.confidence, text))
        share = 1 - len(answered) / len(items)
        declined = len(items) - len(answered)
        print(f"{name:<10} declined {share:.3f} ({declined}/{len(items)}), boundary {kb.boundary:.3f}")
        for conf, text in sorted(answered)[: args.show]:
            print(f"    answered at {conf:.2f}: {text}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
