"""A new approver, with nothing but what the messages say, over real HTTP with signed Slack requests, the
real agent and PostgreSQL: they ask what waits for them, click Reject on the card, type a reason in the form
that opens; the requester hears the outcome with the reason, and the audit entry holds it.
Also: an identical request from someone else joins the pending approval instead of asking again."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from channels.coordination import Coordinator
from channels.core import wording
from channels.slack import actions
from tests.channels.slack.support import GENERAL, click, direct, mention, start_server, view_submission, wait_for
from tests.emulators.slack_api import SlackApiEmulator
from tests.emulators.slack_views import modal_problems

REASON = "The dispute with this vendor was settled yesterday; the payment can go out."


def _buttons(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = [b for b in message.get("blocks", []) if b.get("block_id") == actions.APPROVAL_BUTTONS_BLOCK]
    return {e["action_id"]: e for b in found for e in b["elements"]}


def _text(message: dict[str, Any]) -> str:
    parts = [message.get("text", "")]
    for block in message.get("blocks", []):
        parts.append(str(block.get("text", {}).get("text", "")))
        parts += [str(f.get("text", "")) for f in block.get("fields", [])]
        parts += [str(e.get("text", "")) for e in block.get("elements", []) if isinstance(e.get("text"), str)]
    return "\n".join(parts)


@pytest.mark.timeout(600)
async def test_a_new_approver_finds_the_request_and_rejects_it_with_a_reason(
    pg_agent: Callable[[], Any], coordinator: Coordinator, emulator: SlackApiEmulator
) -> None:
    async with pg_agent() as rt:
        server = await start_server(rt.agent, coordinator, emulator)
        rt.fanout.outboxes["slack"] = server.channel.outbox
        try:
            # Hector (AP clerk) asks in #general; Bob asks for exactly the same thing in his own thread.
            ask = mention("U_HECTOR", "please put a hold on invoice INV-10077")
            await server.deliver(ask)
            cards = await wait_for(lambda: [m for m in emulator.thread(GENERAL, ask["ts"]) if _buttons(m)], 60)
            await server.channel.drain()
            same = mention("U_BOB", "hold INV-10077 please")
            await server.deliver(same)
            joined = await wait_for(
                lambda: [m for m in emulator.thread(GENERAL, same["ts"]) if "already waiting" in m["text"]], 60
            )
            await server.channel.drain()
            assert not [m for m in emulator.thread(GENERAL, same["ts"]) if _buttons(m)], "approvers asked once"
            assert len(rt.approvals.list("pending")) == 1

            # Asked in a channel, the list (other people's requests) goes by DM, with its cards.
            carol_asks = mention("U_CAROL", "what's waiting for me?")
            await server.deliver(carol_asks)
            await wait_for(
                lambda: [m for (ch, _ts), m in emulator.messages.items() if ch == "DU_CAROL" and _buttons(m)], 60
            )
            await server.channel.drain()
            in_channel = emulator.thread(GENERAL, carol_asks["ts"])
            assert [m["text"] for m in in_channel] == [wording.SENT_PRIVATELY] and not any(map(_buttons, in_channel))

            # Dan, an AP lead who has never approved anything, asks the bot privately.
            await server.deliver(direct("U_DAN", "anything waiting for me?"))
            listing = await wait_for(
                lambda: [m for (ch, _ts), m in emulator.messages.items() if ch == "DU_DAN" and _buttons(m)], 60
            )
            await server.channel.drain()
            answer = [
                m
                for (ch, _), m in emulator.messages.items()
                if ch == "DU_DAN" and "wait for your decision" in m["text"]
            ]
            assert answer and "INV-10077" in answer[0]["text"]
            [card] = listing
            assert "Reject" in _buttons(card)[actions.REJECT]["text"]["text"]

            # He clicks Reject: a form opens and says what happens; he types why and submits.
            pressed = click(
                "U_DAN",
                actions.REJECT,
                _buttons(card)[actions.REJECT]["value"],
                channel="DU_DAN",
                message_ts=card["ts"],
            )
            assert (await server.interact(pressed)).status == 200
            [form] = await wait_for(lambda: emulator.views.opened, 30)
            assert modal_problems(form["view"]) == [] and "requester sees your reason" in _text(
                {"blocks": form["view"]["blocks"]}
            )
            status, body = await server.submit(view_submission("U_DAN", form["view"], REASON))
            assert (status, body) == (200, "")

            # Both requesters hear the outcome with the reason; every card is stamped.
            def told(thread: str) -> list[dict[str, Any]]:
                return [m for m in emulator.thread(GENERAL, thread) if "rejected" in m["text"] and REASON in m["text"]]

            await wait_for(lambda: told(ask["ts"]) and told(same["ts"]), 60)
            await server.channel.drain()
            for message in (emulator.messages[(GENERAL, cards[0]["ts"])], emulator.messages[("DU_DAN", card["ts"])]):
                assert not _buttons(message) and re.search(r"Rejected by <@U_DAN>", _text(message))
            approval = rt.approvals.list("rejected")[0]
            entries = [e for e in rt.audit.tail(200) if e.request_id == approval.id and e.kind == "approval_decision"]
            [decision] = [e for e in entries if e.payload.get("became") == "rejected"]
            assert decision.actor == "dan.okafor@example.com" and decision.payload["comment"] == REASON
            assert rt.audit.verify().ok
            assert "An identical request is already waiting" in joined[0]["text"]
        finally:
            await server.channel.drain()
            await server.stop()
