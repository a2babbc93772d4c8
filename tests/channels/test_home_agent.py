"""The App Home with the real agent and PostgreSQL: an AP lead's Home lists the hold request waiting for them
(from graphs/waiting.py's rule) with working buttons; the requester's Home shows it among their own requests,
and both are republished when it is decided."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from channels.coordination import Coordinator
from channels.slack import actions, messages
from tests.channels.slack.support import mention, start_server, wait_for
from tests.channels.slack.test_home import buttons, home_click, home_opened, texts
from tests.emulators.slack_api import SlackApiEmulator


@pytest.mark.timeout(600)
async def test_home_lists_and_decides_with_the_real_agent(
    pg_agent: Callable[[], Any], coordinator: Coordinator, emulator: SlackApiEmulator
) -> None:
    async with pg_agent() as rt:
        server = await start_server(rt.agent, coordinator, emulator)
        rt.fanout.outboxes["slack"] = server.channel.outbox
        try:
            await server.deliver(mention("U_HECTOR", "please put a hold on invoice INV-10077"))
            await wait_for(lambda: rt.approvals.list("pending"), 60)
            await server.channel.drain()
            [approval] = rt.approvals.list("pending")
            approver = next(a for a in approval.approvers if a.startswith("dan."))
            assert approver
            await server.deliver(home_opened("U_DAN"))
            await server.deliver(home_opened("U_HECTOR"))
            dan = await wait_for(lambda: emulator.private.home.get("U_DAN"), 60)
            hector = await wait_for(lambda: emulator.private.home.get("U_HECTOR"), 60)
            assert buttons(dan, actions.APPROVE) == [approval.id]
            assert not buttons(hector, actions.APPROVE)
            assert "INV-10077" in texts(hector).split(messages.HOME_REQUESTS)[1]

            await server.interact(home_click("U_DAN", actions.APPROVE, approval.id))
            await wait_for(lambda: approver in rt.approvals.get(approval.id).approved_by, 60)
            # Dan's decision is recorded: his Home no longer offers it (a second approver may still be needed)
            await wait_for(lambda: not buttons(emulator.private.home["U_DAN"], actions.APPROVE), 60)
        finally:
            await server.channel.drain()
            await server.stop()
