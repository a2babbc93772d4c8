"""Teams streaming benchmark: time to the first streamed words and to the final message in a personal chat.

Run from the repository root: `python -m bench.teams_first_words [--questions 30] [--scripted]`.
Knowledge questions from `evals/datasets/knowledge.jsonl` are posted as Bot Framework activities to
`/api/messages`; the Bot Connector emulator (its own thread and loop) records the first `streaming` chunk
and the `final` message. The stream is paced as in production (one request per second). By default the
real offline agent answers (embedded default: local embedder, index built from the sample corpus first);
`--scripted` measures the channel alone with the scripted handler.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from bench.teams_reply import ThreadedConnector, ms, pct
from bot.settings import DEFAULT_CORPUS, Settings, offline_runtime
from channels.coordination import build_coordinator, new_namespace
from channels.teams.streaming import DEFAULT_INTERVAL_S
from tests.channels.scripted_handler import ScriptedHandler
from tests.channels.teams.support import personal_message, start_server

ROOT = Path(__file__).resolve().parent.parent


def questions() -> list[str]:
    rows = [json.loads(line) for line in (ROOT / "evals/datasets/knowledge.jsonl").read_text().splitlines() if line]
    return [r["question"] for r in rows if r["expect"] == "answer"]


async def _wait(condition: Any, limit_s: float = 30.0) -> Any:
    deadline = time.monotonic() + limit_s
    while not (found := condition()):
        if time.monotonic() > deadline:
            raise TimeoutError("nothing recorded in time")
        await asyncio.sleep(0.001)
    return found


async def main(args: argparse.Namespace) -> None:
    connector = ThreadedConnector()
    connector.start()
    emulator = connector.emulator
    async with AsyncExitStack() as stack:
        if args.scripted:
            handler: Any = ScriptedHandler()
        else:
            offline_runtime()
            from bot.wiring import open_runtime
            from knowledge.embedder import load_embedder
            from knowledge.index import build_index

            work = Path(tempfile.mkdtemp(prefix="deskhand-bench-"))
            embedder = load_embedder()
            build_index([DEFAULT_CORPUS], work / "index", embedder, progress=False)
            settings = Settings(data_dir=work / "data", index_dir=work / "index")
            handler = (await stack.enter_async_context(open_runtime(settings, embedder=embedder))).agent
        coordinator = build_coordinator(args.redis_url, namespace=new_namespace("bench"))
        stack.push_async_callback(coordinator.close)
        server = await start_server(handler, coordinator, stream_interval_s=DEFAULT_INTERVAL_S, inform_after_s=1.0)
        stack.push_async_callback(server.stop)
        stack.push_async_callback(server.channel.drain)
        users = list(emulator.users.values())
        qs = questions()
        first, final, chunks = [], [], []
        for i in range(args.warmup + args.questions):
            activity = personal_message(emulator, users[i % len(users)], qs[i % len(qs)])
            start = time.monotonic()
            status, _ = await server.post(activity)
            assert status == 202, status

            def pieces(a: dict[str, Any] = activity) -> list[Any]:
                return [c for c in list(emulator.calls) if c.target_id == a["id"]]

            # The final stream piece, or the answer as one message (an answer ready within a second is not
            # streamed: Teams' one-request-a-second pace would only hold its end back).
            done = await _wait(
                lambda: [c for c in pieces() if c.stream_type == "final" or (c.is_message and not c.stream_type)]
            )
            if i < args.warmup:
                continue
            shown = [c for c in pieces() if c.stream_type == "streaming"]
            first.append((shown[0].at if shown else done[0].at) - start)
            final.append(done[0].at - start)
            chunks.append(len(shown))
    connector.stop()
    who = "scripted" if args.scripted else "offline agent (embedded default)"
    print(f"handler: {who}; {args.questions} personal-chat questions one at a time; pace {DEFAULT_INTERVAL_S:.1f} s")
    print(f"activity -> first streamed words: p50 {ms(pct(first, 50))}   p95 {ms(pct(first, 95))}")
    print(f"activity -> final message:        p50 {ms(pct(final, 50))}   p95 {ms(pct(final, 95))}")
    print(f"text chunks per answer: mean {sum(chunks) / len(chunks):.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--scripted", action="store_true")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/7")
    asyncio.run(main(parser.parse_args()))
