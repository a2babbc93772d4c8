"""Teams channel benchmark: activity → reply latency for knowledge questions, and duplicates under redelivery.

Run from the repository root: `python -m bench.teams_reply [--questions 200] [--burst 20] [--no-redis]`.
The server runs in this process with the scripted handler (the channel is what is measured); the Bot
Connector emulator runs on its own event loop in a thread, standing in for Teams' remote service.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import threading
import time
from collections import Counter
from typing import Any

from channels.coordination import build_coordinator, new_namespace
from tests.channels.scripted_handler import ScriptedHandler
from tests.channels.teams.support import TeamsServer, card_action, channel_mention, personal_message, start_server
from tests.emulators.bot_connector import BotConnectorEmulator, ConnectorCall

QUESTIONS = (
    "How do I get VPN access?",
    "How many vacation days do new employees get?",
    "Who approves my laptop order?",
    "Where do I submit travel expenses?",
)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def ms(value: float) -> str:
    return f"{value * 1000:7.1f} ms"


class ThreadedConnector:
    """The emulator on its own loop and thread (its work does not run on the bot's loop)."""

    def __init__(self) -> None:
        self.emulator = BotConnectorEmulator()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._replies: dict[str, list[ConnectorCall]] = {}
        self._scanned = 0

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.emulator.start(), self._loop).result(10)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.emulator.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)

    def replies_to(self, activity_id: str) -> list[ConnectorCall]:
        calls = self.emulator.calls
        while self._scanned < len(calls):  # index new calls once; waiters poll often
            call = calls[self._scanned]
            self._scanned += 1
            if call.is_message and call.target_id:
                self._replies.setdefault(call.target_id, []).append(call)
        return self._replies.get(activity_id, [])


async def _wait(condition: Any, limit_s: float = 10.0) -> Any:
    deadline = time.monotonic() + limit_s
    while not (found := condition()):
        if time.monotonic() > deadline:
            raise TimeoutError("no reply recorded in time")
        await asyncio.sleep(0.001)
    return found


async def _ask(server: TeamsServer, connector: ThreadedConnector, activity: dict[str, Any]) -> float:
    """Seconds from sending the activity until the connector recorded the reply."""
    start = time.monotonic()
    status, _ = await server.post(activity)
    assert status == 202, status
    replies = await _wait(lambda: connector.replies_to(activity["id"]))
    return float(replies[0].at - start)


async def sequential(server: TeamsServer, connector: ThreadedConnector, count: int) -> list[float]:
    emulator = connector.emulator
    users = list(emulator.users.values())
    timings = []
    for i in range(count):
        user = users[i % len(users)]
        make = personal_message if i % 2 == 0 else channel_mention
        timings.append(await _ask(server, connector, make(emulator, user, QUESTIONS[i % len(QUESTIONS)])))
    return timings


async def burst(server: TeamsServer, connector: ThreadedConnector, size: int, rounds: int) -> list[float]:
    """`size` users asking at once (different conversations), `rounds` times."""
    emulator = connector.emulator
    users = list(emulator.users.values())[:size]
    timings: list[float] = []
    for r in range(rounds):
        activities = [personal_message(emulator, u, QUESTIONS[r % len(QUESTIONS)]) for u in users]
        timings += await asyncio.gather(*(_ask(server, connector, a) for a in activities))
    return timings


async def redelivery(
    server: TeamsServer, connector: ThreadedConnector, handler: ScriptedHandler, count: int
) -> dict[str, int]:
    """Each activity delivered 3 times at once, like Teams retrying; count what got through twice."""
    emulator = connector.emulator
    users = list(emulator.users.values())
    activities = [personal_message(emulator, users[i % len(users)], "How do I get VPN access?") for i in range(count)]
    before = len(handler.turns)
    await asyncio.gather(*(server.post(a) for a in activities for _ in range(3)))
    await _wait(lambda: all(connector.replies_to(a["id"]) for a in activities))
    await server.channel.drain()
    replies = Counter(c.target_id for a in activities for c in connector.replies_to(a["id"]))
    # approvals: one card, the same click delivered three times by two approvers
    bob, carol, dan = (emulator.user(f"{n}@example.com") for n in ("bob.martin", "carol.diaz", "dan.okafor"))
    ask = channel_mention(emulator, bob, "please hold INV-10077")
    await server.post(ask)
    cards = await _wait(
        lambda: [c for c in list(emulator.calls) if c.is_message and c.body.get("summary", "").startswith("Approval")]
    )
    await server.channel.drain()
    card = cards[0]
    data = card.cards[0]["actions"][0]["data"]
    clicks = [
        card_action(
            emulator, who, "approve", data, conversation_id=str(card.conversation_id), card_id=str(card.response_id)
        )
        for who in (carol, dan)
    ]
    await asyncio.gather(*(server.post(c) for c in clicks for _ in range(3)))
    return {
        "activities": count,
        "deliveries": count * 3,
        "turns": len(handler.turns) - before - 1,
        "duplicate_replies": sum(n - 1 for n in replies.values() if n > 1),
        "decide_calls": handler.decide_calls,
        "executions": len(handler.executions),
    }


async def main(args: argparse.Namespace) -> None:
    connector = ThreadedConnector()
    connector.start()
    coordinator = build_coordinator(None if args.no_redis else args.redis_url, namespace=new_namespace("bench"))
    handler = ScriptedHandler()
    server = await start_server(handler, coordinator)
    try:
        await sequential(server, connector, 10)  # warm-up: member look-ups, connections
        seq = await sequential(server, connector, args.questions)
        bursty = await burst(server, connector, args.burst, max(1, args.questions // args.burst))
        dup = await redelivery(server, connector, handler, args.redelivered)
    finally:
        await server.channel.drain()
        await server.stop()
        await coordinator.close()
        connector.stop()
    print(f"coordination: {'in-process' if args.no_redis else args.redis_url}")
    print(f"activity -> reply recorded, {len(seq)} knowledge questions one at a time:")
    print(f"  p50 {ms(pct(seq, 50))}   p95 {ms(pct(seq, 95))}   max {ms(max(seq))}")
    print(f"activity -> reply recorded, {args.burst} users at once ({len(bursty)} questions):")
    print(f"  p50 {ms(pct(bursty, 50))}   p95 {ms(pct(bursty, 95))}   max {ms(max(bursty))}")
    print("redelivery (every activity and click delivered 3 times):")
    print("  " + json.dumps(dup))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--burst", type=int, default=18)
    parser.add_argument("--redelivered", type=int, default=50)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--no-redis", action="store_true")
    asyncio.run(main(parser.parse_args()))
