"""Benchmark: what a hand-off costs, and what the relay check adds to ordinary turns.

  python bench/handoff.py [--n 200] [--database-url URL]

Prints p50/p95 of (1) a hand-off opened as a ticket (saved + audited, POSTed to a local webhook receiver,
settled + audited), (2) a contact-only hand-off (saved, settled), (3) relaying a team member's answer
(thread look-up, delivery to an in-memory channel, reply counted + audited) and (4) the relay check on an
ordinary message (no database access). SQLite in a temporary folder unless --database-url is given.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from channels.base import InboundMessage, Reply, TeamDesk  # noqa: E402
from graphs.contacts import Contacts  # noqa: E402
from graphs.governance.audit import AuditLog  # noqa: E402
from graphs.handoff import HandoffDesk  # noqa: E402
from graphs.handoff_store import HandoffStore  # noqa: E402
from tests.emulators.ticket_receiver import TicketReceiver  # noqa: E402
from tools.storage.db import build_engine, build_sessionmaker, migrate  # noqa: E402
from tools.ticketing import WebhookTicketing  # noqa: E402


class Sink:
    """Channels that accept every notification in memory (the relay's own cost, not Slack's)."""

    def __init__(self) -> None:
        self.sent = 0

    def desk(self, channel: str) -> TeamDesk | None:
        return None

    async def notify(self, channel: str, conversation_ref: dict[str, Any], reply: Reply) -> None:
        self.sent += 1


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def timed(n: int, step: Callable[[int], Awaitable[Any]]) -> list[float]:
    out = []
    for i in range(n):
        start = time.perf_counter()
        await step(i)
        out.append((time.perf_counter() - start) * 1000)
    return out


def report(name: str, ms: list[float]) -> None:
    print(f"{name:<44} p50 {statistics.median(ms):7.2f} ms   p95 {pct(ms, 95):7.2f} ms   (n={len(ms)})")


async def main(n: int, database_url: str | None) -> None:
    receiver = TicketReceiver()
    await receiver.start()
    contacts = Contacts.model_validate(
        {
            "teams": {
                "hr": {"name": "HR", "contact": "hr@example.com", "ticket": {"url": f"{receiver.url}/hooks/hr"}},
                "it": {"name": "IT", "contact": "it@example.com", "slack": {"channel": "C_IT"}},
            }
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        engine = build_engine(database_url or f"sqlite:///{tmp}/bench.db")
        migrate(engine)
        sessions = build_sessionmaker(engine)
        store = HandoffStore(sessions, AuditLog(sessions))
        ticketing = WebhookTicketing(timeout_s=5.0)
        sink = Sink()
        desk = HandoffDesk(store, contacts, sink, ticketing=ticketing)

        def ask(team: str, tag: str) -> Callable[[int], Awaitable[Any]]:
            async def step(i: int) -> Any:
                return await desk.open(
                    team=team,
                    question="I want to talk to a person",
                    requester="bob.martin@example.com",
                    channel="local",
                    conversation_ref={"conversation": f"bench-{i}"},
                    request_id=f"{tag}-{os.getpid()}-{i}-{time.monotonic_ns()}",
                )

            return step

        report("hand-off as a ticket (webhook on 127.0.0.1)", await timed(n, ask("HR", "t")))
        report("hand-off, contact only", await timed(n, ask("Accounts Payable", "c")))

        threads = []
        for i in range(n):
            h = store.create(request_id=f"r-{time.monotonic_ns()}-{i}", team="IT", requester="bob.martin@example.com",
                             question="q", channel="slack", conversation_ref={"channel": "C_GEN"})  # fmt: skip
            key = f"slack:T1:C_IT:{1700000000 + i}.000100"
            store.settle(h.id, "posted", destination="slack", team_thread=key)
            threads.append(key)

        def message(key: str) -> InboundMessage:
            return InboundMessage("slack", key, "U_OLIVIA", "olivia.rossi@example.com", "Answer", user_name="Olivia")

        report("relay of a team member's answer", await timed(n, lambda i: desk.relay(message(threads[i]))))
        ordinary = message("slack:T1:C_GENERAL:1700000000.000001")
        report("relay check on an ordinary message", await timed(n, lambda i: desk.relay(ordinary)))
        assert sink.sent == n and len(receiver.tickets()) == n
        await ticketing.close()
        engine.dispose()
    await receiver.stop()
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200, help="hand-offs per scenario (default 200)")
    parser.add_argument("--database-url", help="e.g. postgresql://… (default: SQLite in a temporary folder)")
    args = parser.parse_args()
    asyncio.run(main(args.n, args.database_url))
