"""Teams test support: a real server on 127.0.0.1 and activities built from the payload shapes in `fixtures/`."""

from __future__ import annotations

import itertools
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bot.server import build_web_app
from channels.base import TurnHandler
from channels.coordination import Coordinator
from channels.inbox import Inbox
from channels.teams import TeamsChannel, build_teams_channel
from tests.emulators.bot_connector import BOT_ID, BOT_NAME, BotConnectorEmulator, TeamsUser

FIXTURES = Path(__file__).parent / "fixtures"
CHANNEL_ROOT = "19:9f1c2b3a4d5e6f708192a3b4c5d6e7f8@thread.tacv2"
STREAM_INTERVAL_S = 0.05
_ids = itertools.count(1_741_010_800_000)


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


def new_id() -> str:
    return str(next(_ids))


def personal_conversation(user: TeamsUser) -> str:
    return f"a:1{uuid.uuid5(uuid.NAMESPACE_URL, 'chat:' + user.id).hex}"


def _address(activity: dict[str, Any], emulator: BotConnectorEmulator, user: TeamsUser) -> dict[str, Any]:
    activity["serviceUrl"] = emulator.url
    activity["from"] = user.account()
    activity["recipient"] = {"id": BOT_ID, "name": BOT_NAME}
    return activity


def personal_message(emulator: BotConnectorEmulator, user: TeamsUser, text: str) -> dict[str, Any]:
    activity = _address(fixture("personal_message"), emulator, user)
    activity.update(id=new_id(), text=text)
    activity["conversation"]["id"] = personal_conversation(user)
    return activity


def channel_mention(
    emulator: BotConnectorEmulator, user: TeamsUser, text: str, *, root: str | None = None
) -> dict[str, Any]:
    """An @mention in a channel reply chain (a new chain unless `root` is given)."""
    activity = _address(fixture("channel_mention"), emulator, user)
    activity.update(id=new_id(), text=f"<at>{BOT_NAME}</at> {text}")
    activity["conversation"]["id"] = f"{CHANNEL_ROOT};messageid={root or activity['id']}"
    return activity


def group_mention(emulator: BotConnectorEmulator, user: TeamsUser, text: str) -> dict[str, Any]:
    activity = _address(fixture("group_mention"), emulator, user)
    activity.update(id=new_id(), text=f"<at>{BOT_NAME}</at> {text}")
    return activity


def members_added(emulator: BotConnectorEmulator, user: TeamsUser) -> dict[str, Any]:
    activity = _address(fixture("conversation_update_personal"), emulator, user)
    activity["id"] = f"f:{uuid.uuid4()}"
    activity["conversation"]["id"] = personal_conversation(user)
    return activity


def card_action(
    emulator: BotConnectorEmulator,
    user: TeamsUser,
    verb: str,
    data: dict[str, Any],
    *,
    conversation_id: str,
    card_id: str,
) -> dict[str, Any]:
    """The `adaptiveCard/action` invoke Teams sends when `user` clicks an Action.Execute button."""
    activity = _address(fixture("card_action_invoke"), emulator, user)
    activity["id"] = f"f:{uuid.uuid4()}"
    activity["conversation"]["id"] = conversation_id
    activity["conversation"]["conversationType"] = "personal" if conversation_id.startswith("a:") else "channel"
    activity["replyToId"] = card_id
    activity["value"]["action"].update(verb=verb, data=data, title=verb.capitalize())
    return activity


def card_submit(
    emulator: BotConnectorEmulator, user: TeamsUser, value: dict[str, Any], *, conversation_id: str, card_id: str
) -> dict[str, Any]:
    """The message an older client sends for the Action.Submit fallback."""
    activity = _address(fixture("card_submit_message"), emulator, user)
    activity.update(id=new_id(), replyToId=card_id, value=value)
    activity["conversation"]["id"] = conversation_id
    return activity


@dataclass
class TeamsServer:
    """`deskhand serve`'s web app with the Teams channel, on a free port."""

    channel: TeamsChannel
    runner: web.AppRunner
    url: str
    session: aiohttp.ClientSession

    async def post(
        self, activity: dict[str, Any] | str | bytes, *, headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> tuple[int, Any]:  # fmt: skip
        """POST to /api/messages; returns the status and the JSON body (or None)."""
        if isinstance(activity, dict):
            data = json.dumps(activity).encode()
        else:
            data = activity.encode() if isinstance(activity, str) else activity
        async with self.session.post(
            f"{self.url}/api/messages", data=data, headers={"Content-Type": content_type, **(headers or {})}
        ) as response:
            raw = await response.read()
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode(errors="replace")
            return response.status, body

    async def stop(self) -> None:
        await self.session.close()
        await self.runner.cleanup()


async def start_server(
    handler: TurnHandler,
    coordinator: Coordinator,
    *,
    app_id: str | None = None,
    app_password: str | None = None,
    extra_attach: tuple[Any, ...] = (),
    inbox: Inbox | None = None,
    stream_interval_s: float = STREAM_INTERVAL_S,
    inform_after_s: float = 30.0,
) -> TeamsServer:
    channel = build_teams_channel(
        handler,
        app_id=app_id,
        app_password=app_password,
        tenant_id=None,
        app_type="MultiTenant",
        insecure_no_auth=app_id is None,
        coordinator=coordinator,
        inbox=inbox,
    )
    channel.bot.stream_interval_s = stream_interval_s  # Teams' ~1 request/s, shortened for tests
    channel.bot.inform_after_s = inform_after_s  # by default answers are "fast": no informative update
    if hasattr(handler, "add_outbox"):
        handler.add_outbox(channel.outbox)
    runner = web.AppRunner(build_web_app(attach=[channel.attach, *extra_attach]), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = int(runner.addresses[0][1])
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
    return TeamsServer(channel=channel, runner=runner, url=f"http://127.0.0.1:{port}", session=session)
