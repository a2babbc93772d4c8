"""Hand-offs from the terminal channel: a ticket through the webhook, a failure that loses nothing, and an
honest "contact them" when no destination is configured."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.cli_handoffs import cmd_list
from tests.emulators.ticket_receiver import TicketReceiver
from tests.graphs.agent.conftest import Conversation

BOB = "bob.martin@example.com"
PROMISE = "someone will reply"


@pytest.fixture
async def receiver() -> AsyncIterator[TicketReceiver]:
    rx = TicketReceiver()
    await rx.start()
    yield rx
    await rx.stop()


def write_contacts(path: Path, receiver_url: str) -> Path:
    path.write_text(
        "teams:\n"
        "  hr:\n"
        "    name: HR\n"
        "    contact: hr-help@example.com\n"
        f"    ticket: {{url: '{receiver_url}/hooks/hr', name: the HR queue}}\n"
        "  it:\n"
        "    name: IT\n"
        "    contact: it-help@example.com\n"
        f"    ticket: {{url: '{receiver_url}/hooks/it'}}\n"
        "  ap:\n"
        "    name: Accounts Payable\n"
        "    contact: ap@example.com\n"
    )
    return path


async def test_terminal_hand_offs_say_what_happened(
    open_agent, make_settings, capsys, receiver: TicketReceiver, tmp_path: Path
) -> None:
    contacts = write_contacts(tmp_path / "contacts.yaml", receiver.url)
    async with open_agent(contacts_file=contacts, ticket_timeout_seconds=2.0) as rt:
        ticketed = await Conversation(rt, BOB, key="ho-hr").say("I want to talk to a person in HR")
        receiver.fail_next(3, status=503)  # the IT queue is down for every attempt
        failed = await Conversation(rt, BOB, key="ho-it").say("I need a human, my laptop password access is broken")
        contact_only = await Conversation(rt, BOB, key="ho-ap").say("please escalate to accounts payable")
        store = rt.deps.handoffs._store
        rows = {h.team: h for h in await asyncio.to_thread(store.list)}
        trail = [e.payload for e in rt.audit.tail(40) if e.kind == "handoff"]

    # HR: a ticket was opened at the webhook, and the reply names it.
    assert ticketed.route == "handoff"
    [sent] = receiver.tickets()
    assert sent.path == "/hooks/hr" and sent.body["question"] == "I want to talk to a person in HR"
    assert sent.body["requester"] == BOB and sent.body["channel"] == "local"
    assert "TCK-1001" in ticketed.text and PROMISE not in ticketed.text
    assert rows["HR"].status == "ticketed" and rows["HR"].ticket_id == "TCK-1001"
    assert sent.headers["Idempotency-Key"] == rows["HR"].id

    # IT: three attempts failed; the user gets a reference and the contact, the request is kept.
    assert [r.path for r in receiver.requests].count("/hooks/it") == 3
    assert failed.route == "handoff"
    assert rows["IT"].status == "failed" and rows["IT"].question.startswith("I need a human")
    assert rows["IT"].id in failed.text and "it-help@example.com" in failed.text
    assert "couldn't pass" in failed.text and PROMISE not in failed.text

    # AP: nothing configured: whom to contact, and no claim that anyone was told.
    assert "ap@example.com" in contact_only.text and "haven't sent" in contact_only.text
    assert PROMISE not in contact_only.text
    assert rows["Accounts Payable"].status == "contact"

    # Every step is in the audit trail, tied to its hand-off.
    events = {(p["handoff_id"], p["event"]) for p in trail}
    assert {(rows["HR"].id, "requested"), (rows["HR"].id, "ticketed")} <= events
    assert {(rows["IT"].id, "requested"), (rows["IT"].id, "failed")} <= events
    assert (rows["Accounts Payable"].id, "contact") in events

    # The failed one is listed for an operator, with the reference the requester was given.
    capsys.readouterr()
    assert cmd_list(make_settings(), "failed", 50, True) == 0
    [line] = capsys.readouterr().out.splitlines()
    assert json.loads(line)["id"] == rows["IT"].id
