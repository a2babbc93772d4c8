"""A new approver's walk through the Slack App Home, as a script of clicks, with nothing but what the
screens say: the real agent on PostgreSQL, signed Slack requests over real HTTP, the Web API emulator.

Dan opens his Home → "Waiting for you" lists Hector's hold request with its buttons → he clicks Reject → a
form asks why → he submits a reason → Hector's thread tells the outcome with the reason, the approval card
no longer says "Approval needed" and has no buttons, Dan's Home is redrawn without it, and the audit entry
holds the reason. Before him, Ivy (no approver) clicks the same Reject and is told why, with no form."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from channels.coordination import Coordinator
from channels.core import wording
from channels.slack import messages
from tests.channels.slack.support import GENERAL, mention, start_server, view_submission, wait_for
from tests.channels.slack.test_home import home_click, home_opened
from tests.emulators.slack_api import SlackApiEmulator
from tests.emulators.slack_views import modal_problems

REASON = "Finance already holds this invoice under the vendor dispute; a second hold is not needed."


@pytest.fixture
async def emulator() -> AsyncIterator[SlackApiEmulator]:
    emu = SlackApiEmulator()
    await emu.start()
    yield emu
    await emu.stop()


def _read(blocks: list[dict[str, Any]]) -> str:
    """What a person reads in blocks: headers, sections, fields, context and button labels."""
    out: list[str] = []
    for block in blocks:
        if isinstance(block.get("text"), dict):
            out.append(str(block["text"].get("text", "")))
        out += [str(f.get("text", "")) for f in block.get("fields", [])]
        for element in block.get("elements", []):
            text = element.get("text")
            out.append(str(text.get("text", "")) if isinstance(text, dict) else str(text or ""))
    return "\n".join(out)


def _button(blocks: list[dict[str, Any]], label: str) -> dict[str, Any] | None:
    """The button a person would click by its label."""
    for block in blocks:
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            if element.get("type") == "button" and label in element["text"]["text"]:
                return element
    return None


@pytest.mark.timeout(600)
async def test_a_new_approver_rejects_from_the_app_home_with_a_reason(
    pg_agent: Callable[[], Any], coordinator: Coordinator, emulator: SlackApiEmulator
) -> None:
    async with pg_agent() as rt:
        server = await start_server(rt.agent, coordinator, emulator)
        rt.fanout.outboxes["slack"] = server.channel.outbox
        try:
            ask = mention("U_HECTOR", "please put a hold on invoice INV-10077")
            await server.deliver(ask)
            [card] = await wait_for(
                lambda: [m for m in emulator.thread(GENERAL, ask["ts"]) if _button(m["blocks"], "Reject")], 60
            )
            await server.channel.drain()
            assert wording.HEADER_OPEN in _read(card["blocks"])

            # 1. Dan opens his Home: the request waits for him, with its buttons.
            await server.deliver(home_opened("U_DAN"))
            home = await wait_for(lambda: emulator.private.home.get("U_DAN"), 60)
            seen = _read(home["blocks"])
            assert messages.HOME_WAITING in seen and "INV-10077" in seen.split(messages.HOME_REQUESTS)[0]
            reject = _button(home["blocks"], "Reject")
            assert reject is not None

            # Ivy is no approver: the same click tells her why, privately, and opens nothing.
            await server.interact(home_click("U_IVY", reject["action_id"], reject["value"]))
            [refusal] = await wait_for(lambda: [e for e in emulator.private.ephemeral if e["user"] == "U_IVY"], 60)
            assert "not an eligible approver" in refusal["text"] and "dan.okafor@example.com" in refusal["text"]
            assert emulator.views.opened == []

            # 2. Dan clicks Reject: a form asks why and says who will read it.
            await server.interact(home_click("U_DAN", reject["action_id"], reject["value"]))
            [form] = await wait_for(lambda: emulator.views.opened, 60)
            assert modal_problems(form["view"]) == []
            words = _read(form["view"]["blocks"])
            assert "requester sees your reason" in words
            [field] = [b for b in form["view"]["blocks"] if b["type"] == "input"]
            assert field["label"]["text"] == "Why are you rejecting it?" and field["optional"] is False

            # 3. He types the reason and submits.
            status, body = await server.submit(view_submission("U_DAN", form["view"], REASON))
            assert (status, body) == (200, "")

            # Hector's thread tells him, with the reason.
            told = await wait_for(
                lambda: [m for m in emulator.thread(GENERAL, ask["ts"]) if REASON in _read(m["blocks"]) + m["text"]],
                60,
            )
            assert "rejected" in told[0]["text"]
            await server.channel.drain()

            # The card in the thread is redrawn: no longer "Approval needed", no buttons, who and when.
            redrawn = emulator.messages[(GENERAL, card["ts"])]
            shown = _read(redrawn["blocks"])
            assert wording.HEADER_OPEN not in shown and "Rejected" in shown and "<@U_DAN>" in shown
            assert _button(redrawn["blocks"], "Reject") is None and _button(redrawn["blocks"], "Approve") is None

            # Dan's Home is redrawn without it.
            home = await wait_for(
                lambda: (h := emulator.private.home["U_DAN"]) and _button(h["blocks"], "Reject") is None and h, 60
            )
            assert messages.HOME_NOTHING_WAITING in _read(home["blocks"])

            # The audit entry holds the reason.
            [approval] = rt.approvals.list("rejected")
            [entry] = [
                e
                for e in rt.audit.tail(200)
                if e.request_id == approval.id
                and e.kind == "approval_decision"
                and e.payload.get("became") == "rejected"
            ]
            assert entry.actor == "dan.okafor@example.com" and entry.payload["comment"] == REASON
            refused = [
                e
                for e in rt.audit.tail(200)
                if e.request_id == approval.id
                and e.payload.get("stage") == "form"
                and e.actor == "ivy.chen@example.com"
            ]
            assert len(refused) == 1 and refused[0].payload["accepted"] is False
            assert rt.audit.verify().ok
        finally:
            await server.channel.drain()
            await server.stop()
