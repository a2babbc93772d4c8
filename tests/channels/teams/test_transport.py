"""Talking to the Bot Connector: the shared session, the bot's token, retries only when nothing was posted."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator

import pytest
from botbuilder.schema import Activity, ActivityTypes
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import MicrosoftAppCredentials

from channels.core import wording
from channels.teams.transport import ConnectorTransport
from tests.channels.scripted_handler import KNOWLEDGE_TEXT
from tests.channels.teams.support import TeamsServer, personal_conversation, personal_message
from tests.emulators.bot_connector import BotConnectorEmulator


class IssuedToken:
    """Credentials of a registered bot, with the token AAD would issue (no AAD here)."""

    microsoft_app_id = "3f2b6c1e-8a4d-4e7f-9b0c-1d2e3f4a5b6c"

    def __init__(self) -> None:
        self.threads: list[int] = []

    def get_access_token(self, force_refresh: bool = False) -> str:
        self.threads.append(threading.get_ident())
        return "eyJ0eXAiOiJKV1QifQ.issued.token"

    def signed_session(self, session: object = None) -> object:  # botbuilder's requests path, unused
        raise AssertionError("the shared transport never uses requests sessions")


@pytest.fixture
async def transport() -> AsyncIterator[ConnectorTransport]:
    shared = ConnectorTransport()
    yield shared
    await shared.close()


async def test_a_registered_bot_sends_its_token_fetched_off_the_event_loop(
    transport: ConnectorTransport, connector: BotConnectorEmulator
) -> None:
    credentials = IssuedToken()
    client = transport.adopt(ConnectorClient(credentials, base_url=connector.url))
    message = Activity(type=ActivityTypes.message, text="hello")
    response = await client.conversations.send_to_conversation("a:1chat", message)
    [call] = connector.calls
    assert call.authorization == "Bearer eyJ0eXAiOiJKV1QifQ.issued.token"
    assert call.body["text"] == "hello" and response.id == call.response_id
    assert credentials.threads and threading.get_ident() not in credentials.threads


async def test_without_an_app_id_no_token_is_sent(
    transport: ConnectorTransport, connector: BotConnectorEmulator
) -> None:
    client = transport.adopt(ConnectorClient(MicrosoftAppCredentials.empty(), base_url=connector.url))
    await client.conversations.update_activity("a:1chat", "1001", Activity(type=ActivityTypes.message, text="x"))
    [call] = connector.calls
    assert call.kind == "update" and call.authorization is None


async def test_throttled_reply_is_retried_after_retry_after(
    server: TeamsServer, connector: BotConnectorEmulator
) -> None:
    bob = connector.user("bob.martin@example.com")
    await server.post(personal_message(connector, bob, "warm up the profile cache"))
    await connector.wait_for(connector.messages)
    connector.fail_next(2, status=429, retry_after=0, method="POST", activity_type="message")
    await server.post(personal_message(connector, bob, "How do I get VPN access?"))
    await connector.wait_for(lambda: len(connector.messages()) == 2)
    await server.channel.drain()
    posts = [c for c in connector.calls if c.method == "POST" and c.body.get("type") == "message"]
    assert [c.status for c in posts[-3:]] == [429, 429, 200]
    assert [m.text for m in connector.messages(personal_conversation(bob))][-1] == KNOWLEDGE_TEXT


async def test_failed_post_is_not_retried(server: TeamsServer, connector: BotConnectorEmulator) -> None:
    bob = connector.user("bob.martin@example.com")
    await server.post(personal_message(connector, bob, "warm up the profile cache"))
    await connector.wait_for(connector.messages)
    connector.fail_next(
        1, status=502, method="POST", activity_type="message"
    )  # the answer may or may not have been posted
    await server.post(personal_message(connector, bob, "How do I get VPN access?"))
    await connector.wait_for(lambda: [m for m in connector.messages() if "ref" in m.text])
    await server.channel.drain()
    texts = [m.text for m in connector.messages()]
    assert texts.count(KNOWLEDGE_TEXT) == 1  # the warm-up answer only: no second attempt
    assert wording.APOLOGY.split("(")[0] in texts[-1]


async def test_turns_reuse_connections(server: TeamsServer, connector: BotConnectorEmulator) -> None:
    users = list(connector.users.values())[:6]
    for user in users:  # one after the other: each turn looks up a profile and posts an answer
        await server.post(personal_message(connector, user, "How do I get VPN access?"))
        await connector.wait_for(lambda u=user: connector.messages(personal_conversation(u)))
    await server.channel.drain()
    assert len([c for c in connector.calls if c.kind == "member"]) == len(users)
    assert len(connector.messages()) == len(users)  # plus typing and streamed chunks, on the same connection
    # keep-alive: the connections are reused across turns (two: the typing indicator runs alongside the
    # profile look-up), not one per turn or per request
    assert len({c.peer for c in connector.calls}) <= 2
