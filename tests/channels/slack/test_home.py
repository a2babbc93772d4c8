"""The App Home tab over real HTTP: published on `app_home_opened` (checked like Slack's `views.publish`),
decided from with the ordinary buttons, and republished for the people an approval concerns when it changes."""

from __future__ import annotations

import time
import uuid
from typing import Any

from channels.slack import actions, messages
from tests.channels.scripted_handler import ScriptedHandler
from tests.channels.slack.support import SlackServer, mention, view_submission, wait_for
from tests.emulators.slack_api import BOT_USER_ID, TEAM_ID, SlackApiEmulator


def home_opened(user: str, tab: str = "home") -> dict[str, Any]:
    return {
        "type": "app_home_opened",
        "user": user,
        "channel": f"D{user}",
        "tab": tab,
        "event_ts": f"{time.time():.6f}",
    }


def home_click(user: str, action_id: str, value: str) -> dict[str, Any]:
    """A button click in the Home tab: the container is the view, there is no channel or message."""
    view_id = f"VHOME{uuid.uuid4().hex[:6].upper()}"
    return {
        "type": "block_actions",
        "team": {"id": TEAM_ID, "domain": "larkspur"},
        "user": {"id": user, "username": user.lower(), "team_id": TEAM_ID},
        "api_app_id": "A_DESKHAND",
        "token": "legacy-verification-token",
        "container": {"type": "view", "view_id": view_id},
        "trigger_id": f"{uuid.uuid4().int % 10**12}.trigger",
        "view": {"id": view_id, "type": "home", "blocks": [], "bot_id": "B_DESKHAND"},
        "actions": [
            {
                "action_id": action_id,
                "block_id": "b",
                "value": value,
                "type": "button",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }


def texts(view: dict[str, Any]) -> str:
    out = []
    for block in view["blocks"]:
        if isinstance(block.get("text"), dict):
            out.append(block["text"]["text"])
        out += [f["text"] for f in block.get("fields", [])]
    return "\n".join(out)


def buttons(view: dict[str, Any], action_id: str) -> list[str]:
    rows = [b for b in view["blocks"] if b["type"] == "actions"]
    return [e["value"] for b in rows for e in b["elements"] if e["action_id"] == action_id]


async def ask_hold(server: SlackServer, handler: ScriptedHandler, user: str, invoice: str) -> str:
    before = set(handler.approvals)
    await server.deliver(mention(user, f"please hold {invoice}"))
    [approval_id] = await wait_for(lambda: set(handler.approvals) - before)
    return str(approval_id)


async def test_opening_home_shows_what_waits_and_ones_own_requests(
    server: SlackServer, emulator: SlackApiEmulator, handler: ScriptedHandler
) -> None:
    approval_id = await ask_hold(server, handler, "U_ALICE", "INV-10077")
    assert (await server.deliver(home_opened("U_CAROL"))).status == 200
    carol = await wait_for(lambda: emulator.private.home.get("U_CAROL"))
    assert messages.HOME_WAITING in texts(carol) and "INV-10077" in texts(carol)
    assert buttons(carol, actions.APPROVE) == buttons(carol, actions.REJECT) == [approval_id]
    assert messages.HOME_CAN_DO in texts(carol)

    await server.deliver(home_opened("U_ALICE"))
    alice = await wait_for(lambda: emulator.private.home.get("U_ALICE"))
    assert messages.HOME_NOTHING_WAITING in texts(alice) and not buttons(alice, actions.APPROVE)
    mine = texts(alice).split(messages.HOME_REQUESTS)[1]
    assert "INV-10077" in mine and "<@U_CAROL>" in mine and "<!date^" in mine  # who it waits on, expiry


async def test_approving_from_home_decides_and_republishes_both_homes(
    server: SlackServer, emulator: SlackApiEmulator, handler: ScriptedHandler
) -> None:
    approval_id = await ask_hold(server, handler, "U_ALICE", "INV-10078")
    for user in ("U_ALICE", "U_CAROL"):
        await server.deliver(home_opened(user))
    await wait_for(lambda: {"U_ALICE", "U_CAROL"} <= set(emulator.private.home))
    published = len(emulator.private.homes)
    assert (await server.interact(home_click("U_CAROL", actions.APPROVE, approval_id))).status == 200
    await wait_for(lambda: handler.executions == [approval_id])
    await wait_for(lambda: not buttons(emulator.private.home["U_CAROL"], actions.APPROVE))
    await wait_for(lambda: "Approved" in texts(emulator.private.home["U_ALICE"]).split(messages.HOME_REQUESTS)[1])
    assert len(emulator.private.homes) > published


async def test_rejecting_from_home_asks_for_a_reason_and_a_refusal_is_told_by_dm(
    server: SlackServer, emulator: SlackApiEmulator, handler: ScriptedHandler
) -> None:
    approval_id = await ask_hold(server, handler, "U_ALICE", "INV-10079")
    await server.interact(home_click("U_DAN", actions.REJECT, approval_id))
    [form] = await wait_for(lambda: emulator.views.opened)
    status, _ = await server.submit(view_submission("U_DAN", form["view"], "Invoice is disputed"))
    assert status == 200
    await wait_for(lambda: handler.approvals[approval_id].status == "rejected")
    # Bob is no approver: he is told why, privately, in his DM with the bot (the Home has no channel)
    await server.interact(home_click("U_BOB", actions.APPROVE, approval_id))
    [told] = await wait_for(lambda: [e for e in emulator.private.ephemeral if e["user"] == "U_BOB"])
    assert told["channel"] == "DU_BOB" and handler.executions == []


async def test_a_new_request_republishes_the_approvers_home(
    server: SlackServer, emulator: SlackApiEmulator, handler: ScriptedHandler
) -> None:
    await server.deliver(home_opened("U_DAN"))
    first = await wait_for(lambda: emulator.private.home.get("U_DAN"))
    assert not buttons(first, actions.APPROVE)
    approval_id = await ask_hold(server, handler, "U_ALICE", "INV-10080")
    await wait_for(lambda: buttons(emulator.private.home["U_DAN"], actions.APPROVE) == [approval_id])


async def test_a_long_list_stays_within_slacks_100_blocks(
    server: SlackServer, emulator: SlackApiEmulator, handler: ScriptedHandler
) -> None:
    for n in range(25):
        await ask_hold(server, handler, "U_ALICE", f"INV-2{n:04d}")
    await server.deliver(home_opened("U_CAROL"))
    carol = await wait_for(lambda: emulator.private.home.get("U_CAROL"))
    assert 0 < len(buttons(carol, actions.APPROVE)) < 25 and len(carol["blocks"]) <= 100
    assert messages.HOME_MORE in texts(carol)
    assert not [c for c in emulator.of("views.publish", ok_only=False) if not c.ok]


async def test_strangers_and_the_messages_tab(
    server: SlackServer, emulator: SlackApiEmulator, handler: ScriptedHandler
) -> None:
    await server.deliver(home_opened("U_STRANGER"))
    stranger = await wait_for(lambda: emulator.private.home.get("U_STRANGER"))
    assert messages.HOME_UNKNOWN in texts(stranger) and handler.home_calls == []
    await server.deliver(home_opened("U_ERIN", tab="messages"))
    await server.deliver(home_opened(BOT_USER_ID, tab="messages"))
    await server.channel.drain()
    assert set(emulator.private.home) == {"U_STRANGER"}
