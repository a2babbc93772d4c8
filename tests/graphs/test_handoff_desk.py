"""The hand-off desk's fallbacks: a team channel that cannot be reached falls back to the ticket webhook, and
an answer that cannot reach the requester is said so to the team member, with a reference."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from channels.base import InboundMessage, Reply, TeamPost
from graphs.contacts import Contacts
from graphs.governance.audit import AuditLog
from graphs.handoff import HandoffDesk
from graphs.handoff_store import HandoffStore
from tests.emulators.ticket_receiver import TicketReceiver
from tools.storage.db import build_engine, build_sessionmaker, migrate
from tools.ticketing import WebhookTicketing


class UnreachableSlack:
    """A Slack outbox whose every post fails, as when the bot was removed from the team channel."""

    def __init__(self) -> None:
        self.attempts = 0

    async def post_to_team(self, destination: dict[str, Any], reply: Reply, origin_ref: dict[str, Any]) -> TeamPost:
        self.attempts += 1
        raise ConnectionError("not_in_channel")

    async def link_to(self, conversation_ref: dict[str, Any]) -> str | None:
        return None


class Channels:
    def __init__(self) -> None:
        self.slack = UnreachableSlack()

    def desk(self, channel: str) -> Any:
        return self.slack if channel == "slack" else None

    async def notify(self, channel: str, conversation_ref: dict[str, Any], reply: Reply) -> None:
        raise ConnectionError("channel_not_found")


@pytest.fixture
async def receiver() -> AsyncIterator[TicketReceiver]:
    rx = TicketReceiver()
    await rx.start()
    yield rx
    await rx.stop()


async def test_unreachable_channel_falls_back_to_a_ticket_and_failed_relays_are_reported(
    receiver: TicketReceiver, sqlite_url: str
) -> None:
    contacts = Contacts.model_validate(
        {
            "teams": {
                "hr": {
                    "name": "HR",
                    "contact": "hr-help@example.com",
                    "slack": {"channel": "C_HR"},
                    "ticket": {"url": f"{receiver.url}/hooks/hr"},
                }
            }
        }
    )
    engine = build_engine(sqlite_url)
    migrate(engine)
    sessions = build_sessionmaker(engine)
    audit = AuditLog(sessions)
    store = HandoffStore(sessions, audit)
    channels = Channels()
    ticketing = WebhookTicketing(backoff_s=0.01)
    desk = HandoffDesk(store, contacts, channels, ticketing=ticketing)
    try:
        done = await desk.open(
            team="HR", question="talk to HR", requester="bob.martin@example.com", channel="slack",
            conversation_ref={"channel": "C_GENERAL", "thread_ts": "1.0", "team": "T1"}, request_id="r1",
        )  # fmt: skip
        assert channels.slack.attempts == 1 and len(receiver.tickets()) == 1
        assert done.data["delivered"] == "ticket" and "TCK-1001" in done.text
        assert store.by_request("r1").status == "ticketed"

        # A relay whose delivery to the requester fails: the team member learns it, with a reference.
        h = store.by_request("r1")
        store.settle(h.id, "posted", destination="slack", team_thread="slack:T1:C_HR:2.0")
        answer = InboundMessage("slack", "slack:T1:C_HR:2.0", "U_OLIVIA", "olivia.rossi@example.com", "Hi Bob")
        reply = await desk.relay(answer)
        assert reply is not None and reply.route == "error" and reply.reference_id
        assert reply.reference_id in reply.text and "bob.martin@example.com" in reply.text
        assert store.get(h.id).replies == 0
        assert audit.tail(1)[0].payload["event"] == "reply_not_relayed"
        # A message anywhere else is not the desk's business.
        elsewhere = InboundMessage("slack", "slack:T1:C_GENERAL:3.0", "U_BOB", "bob.martin@example.com", "hi")
        assert await desk.relay(elsewhere) is None
    finally:
        await ticketing.close()
        engine.dispose()
