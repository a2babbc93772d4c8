"""`/deskhand approvals` with the real agent on PostgreSQL: the private list goes through the command's
response_url, which is stored with the approval's message refs; when the approval is decided elsewhere the
list is redrawn in place (no buttons left that would lie)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from channels.coordination import Coordinator
from channels.slack import actions
from tests.channels.slack.support import GENERAL, click, mention, start_server, view_submission, wait_for
from tests.channels.slack.test_commands import command, send
from tests.emulators.slack_api import SlackApiEmulator


@pytest.fixture
async def emulator() -> AsyncIterator[SlackApiEmulator]:
    emu = SlackApiEmulator()
    await emu.start()
    yield emu
    await emu.stop()


def _approve_buttons(message: dict[str, Any]) -> list[str]:
    rows = [b for b in message.get("blocks", []) if b["type"] == "actions"]
    return [e["value"] for b in rows for e in b["elements"] if e["action_id"] == actions.APPROVE]


@pytest.mark.timeout(600)
async def test_the_private_list_is_redrawn_when_the_approval_is_decided_elsewhere(
    pg_agent: Callable[[], Any], coordinator: Coordinator, emulator: SlackApiEmulator
) -> None:
    async with pg_agent() as rt:
        server = await start_server(rt.agent, coordinator, emulator)
        rt.fanout.outboxes["slack"] = server.channel.outbox
        try:
            ask = mention("U_HECTOR", "please put a hold on invoice INV-10077")
            await server.deliver(ask)
            [card] = await wait_for(lambda: [m for m in emulator.thread(GENERAL, ask["ts"]) if _approve_buttons(m)], 60)
            await server.channel.drain()
            [approval] = rt.approvals.list("pending")

            fields = command(emulator, "U_CAROL", "approvals")
            await send(server, fields)
            url_id = fields["response_url"].rsplit("/", 1)[1]
            [listed] = await wait_for(lambda: emulator.private.shown.get(url_id), 60)
            await server.channel.drain()
            assert _approve_buttons(listed) == [approval.id] and "INV-10077" in json.dumps(listed)
            refs = [d for c, d in rt.approvals.message_refs(approval.id) if c == "slack" and "response_url" in d]
            assert [r["response_url"] for r in refs] == [fields["response_url"]], "stored with the message refs"

            # Dan rejects from the thread's card, with a reason.
            reject = click("U_DAN", actions.REJECT, approval.id, channel=GENERAL, message_ts=card["ts"])
            await server.interact(reject)
            [form] = await wait_for(lambda: emulator.views.opened, 60)
            await server.submit(view_submission("U_DAN", form["view"], "Already on hold under the dispute."))
            await wait_for(lambda: rt.approvals.get(approval.id).status == "rejected", 60)
            await server.channel.drain()

            # Carol's private list is redrawn in place: the card stamped, no buttons.
            shown = await wait_for(
                lambda: (s := emulator.private.shown[url_id]) and not _approve_buttons(s[-1]) and s, 60
            )
            assert len(shown) == 1 and shown[0]["replace_original"] is True
            assert "Rejected by <@U_DAN>" in json.dumps(shown[0]["blocks"])
        finally:
            await server.channel.drain()
            await server.stop()
