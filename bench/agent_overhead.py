"""Benchmark: what the agent adds on top of the knowledge layer, and approval → executed latency.

  python bench/agent_overhead.py [--rounds 3] [--approvals 40]

Prints p50/p95 of (1) a plain `KnowledgeBase.answer`, (2) a full tool-free agent turn (routing,
policy-free answer, audit entry, checkpoint) for the same questions, their p95 difference, and
(3) the time from the deciding approver's click to the executed action with the embedded SCIM server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.settings import DEFAULT_CORPUS, Settings, offline_runtime  # noqa: E402

offline_runtime()

from bot.wiring import open_runtime  # noqa: E402
from channels.base import InboundMessage  # noqa: E402
from knowledge.embedder import load_embedder  # noqa: E402
from knowledge.index import build_index  # noqa: E402


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def questions() -> list[str]:
    rows = [json.loads(line) for line in (ROOT / "evals/datasets/knowledge.jsonl").read_text().splitlines() if line]
    return [r["question"] for r in rows if r["expect"] == "answer"]


async def main(rounds: int, approvals: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="deskhand-bench-"))
    embedder = load_embedder()
    build_index([DEFAULT_CORPUS], work / "index", embedder, progress=False)
    settings = Settings(data_dir=work / "data", index_dir=work / "index")
    qs = questions()
    async with open_runtime(settings, embedder=embedder) as rt:
        kb = rt.deps.knowledge
        for q in qs[:10]:  # warm-up
            kb.answer(q)
        plain, turn = [], []
        for r in range(rounds):
            for i, q in enumerate(qs):
                t = time.perf_counter()
                kb.answer(q)
                plain.append((time.perf_counter() - t) * 1000)
                msg = InboundMessage("local", f"local:bench-{r}-{i}", "bob", "bob.martin@example.com", q)
                t = time.perf_counter()
                await rt.agent.handle(msg)
                turn.append((time.perf_counter() - t) * 1000)
        decide = []
        for i in range(approvals):
            invoice = f"INV-{10001 + (i % 100):05d}"
            msg = InboundMessage(
                "local", f"local:appr-{i}", "hector", "hector.ruiz@example.com", f"put a hold on invoice {invoice}"
            )
            reply = await rt.agent.handle(msg)
            if reply.approval is None:
                continue
            approvers = list(reply.approval.approvers)
            for who in approvers[: reply.approval.required - 1]:
                await rt.agent.decide(reply.approval.approval_id, who, True)
            t = time.perf_counter()
            outcome = await rt.agent.decide(reply.approval.approval_id, approvers[reply.approval.required - 1], True)
            decide.append((time.perf_counter() - t) * 1000)
            assert outcome.approval is not None and outcome.approval.status in ("executed", "failed")
    print(f"questions: {len(qs)} x {rounds} rounds")
    print(f"plain knowledge answer  p50 {pct(plain, 50):7.1f} ms  p95 {pct(plain, 95):7.1f} ms")
    print(f"full agent turn         p50 {pct(turn, 50):7.1f} ms  p95 {pct(turn, 95):7.1f} ms")
    print(f"agent overhead at p95   {pct(turn, 95) - pct(plain, 95):7.1f} ms (target <= 30 ms)")
    print(f"mean overhead per turn  {statistics.mean(turn) - statistics.mean(plain):7.1f} ms")
    if decide:
        print(
            f"approval -> executed    p50 {pct(decide, 50):7.1f} ms  p95 {pct(decide, 95):7.1f} ms "
            f"(n={len(decide)}, target p95 <= 200 ms)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--approvals", type=int, default=40)
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.approvals))
