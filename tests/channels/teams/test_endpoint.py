"""The /api/messages endpoint: authentication, malformed requests (4xx, never 500), configuration refusals."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import jwt
import pytest

from channels.coordination import Coordinator
from channels.teams import TeamsConfigError, build_teams_channel
from tests.channels.scripted_handler import KNOWLEDGE_TEXT, ScriptedHandler
from tests.channels.teams.support import (
    TeamsServer,
    card_action,
    personal_message,
    start_server,
)
from tests.emulators.bot_connector import BotConnectorEmulator

APP_ID = "3f2b6c1e-8a4d-4e7f-9b0c-1d2e3f4a5b6c"


def _bob_says(connector: BotConnectorEmulator, text: str = "How do I get VPN access?") -> dict[str, Any]:
    return personal_message(connector, connector.user("bob.martin@example.com"), text)


def _forged_token(issuer: str) -> str:
    now = int(time.time())
    claims = {"iss": issuer, "aud": APP_ID, "serviceurl": "http://127.0.0.1/", "nbf": now, "exp": now + 600}
    return jwt.encode(claims, "attacker-chosen-secret-key-of-32-bytes!", algorithm="HS256")


@pytest.fixture
async def secured(
    coordinator: Coordinator, handler: ScriptedHandler, connector: BotConnectorEmulator
) -> AsyncIterator[TeamsServer]:
    """The server as deployed: an app id configured, so every request needs a Bot Framework token."""
    server = await start_server(handler, coordinator, app_id=APP_ID, app_password="client-secret-value")
    yield server
    await server.channel.drain()
    await server.stop()


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer not-a-jwt",
        "Basic Ym9iOmh1bnRlcjI=",
        f"Bearer {_forged_token('https://login.attacker.example/')}",
        "Bearer ",
    ],
    ids=["missing", "garbage", "basic", "untrusted-issuer", "empty"],
)
async def test_without_a_valid_token_nothing_is_processed(
    secured: TeamsServer,
    connector: BotConnectorEmulator,
    handler: ScriptedHandler,
    authorization: str | None,
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    message_status, _ = await secured.post(_bob_says(connector), headers=headers)
    invoke = card_action(
        connector,
        connector.user("carol.diaz@example.com"),
        "approve",
        {"approval_id": "apr-1"},
        conversation_id="a:1xyz",
        card_id="1",
    )
    invoke_status, _ = await secured.post(invoke, headers=headers)
    assert (message_status, invoke_status) == (401, 401)
    await secured.channel.drain()
    assert handler.turns == [] and handler.decide_calls == 0 and connector.calls == []


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b"\xff\xfe\x00garbage", "application/json", 400),
        (b"[1, 2, 3]", "application/json", 400),
        (b'"a string"', "application/json", 400),
        (b"type=message&text=hi", "application/x-www-form-urlencoded", 415),
        (b"", "text/plain", 415),
    ],
    ids=["broken-json", "binary", "array", "string", "form", "text"],
)
async def test_unreadable_requests_get_a_4xx(
    server: TeamsServer,
    connector: BotConnectorEmulator,
    handler: ScriptedHandler,
    body: bytes,
    content_type: str,
    status: int,
) -> None:
    got, error = await server.post(body, content_type=content_type)
    assert got == status and "error" in error
    assert handler.turns == [] and connector.calls == []


@pytest.mark.parametrize(
    "damage",
    [
        lambda a: a.pop("type"),
        lambda a: a.pop("serviceUrl"),
        lambda a: a.update(serviceUrl="file:///etc/passwd"),
        lambda a: a.update(serviceUrl="http://[::1"),
        lambda a: a.pop("conversation"),
        lambda a: a["conversation"].pop("id"),
        lambda a: a.update({"from": "29:1bob"}),
        lambda a: a.update(recipient=None),
        lambda a: a.update(timestamp="yesterday at noon"),
        lambda a: a.update(entities="mention"),
        lambda a: a.update(type=42),
    ],
    ids=[
        "no-type",
        "no-service-url",
        "file-service-url",
        "broken-service-url",
        "no-conversation",
        "no-conversation-id",
        "from-string",
        "no-recipient",
        "bad-timestamp",
        "bad-entities",
        "type-number",
    ],
)
async def test_malformed_activities_get_400_and_the_server_carries_on(
    server: TeamsServer, connector: BotConnectorEmulator, handler: ScriptedHandler, damage: Any
) -> None:
    activity = _bob_says(connector)
    damage(activity)
    status, error = await server.post(activity)
    assert status == 400 and error["error"]
    assert handler.turns == [] and connector.calls == []
    status, _ = await server.post(_bob_says(connector))
    assert status == 202
    [reply] = await connector.wait_for(connector.messages)
    assert reply.text == KNOWLEDGE_TEXT


async def test_malformed_card_action_gets_a_400_invoke_response(
    server: TeamsServer, connector: BotConnectorEmulator, handler: ScriptedHandler
) -> None:
    invoke = card_action(
        connector,
        connector.user("carol.diaz@example.com"),
        "approve",
        {"approval_id": "apr-1"},
        conversation_id="a:1xyz",
        card_id="1",
    )
    invoke["value"] = {"action": {"type": "Action.OpenUrl", "url": "https://example.com"}}
    status, body = await server.post(invoke)
    assert status == 400 and body["type"] == "application/vnd.microsoft.error"
    invoke.update(id=f"{invoke['id']}-2", value="approve")
    status, _ = await server.post(invoke)
    assert status == 400 and handler.decide_calls == 0


async def test_activity_types_the_bot_does_not_use_are_acknowledged_quietly(
    server: TeamsServer, connector: BotConnectorEmulator, handler: ScriptedHandler
) -> None:
    for kind in ("typing", "messageReaction", "installationUpdate", "somethingNew"):
        activity = _bob_says(connector)
        activity["type"] = kind
        status, _ = await server.post(activity)
        assert status == 202
    await server.channel.drain()
    assert handler.turns == [] and connector.calls == []


async def test_without_authentication_only_a_local_service_url_is_used(
    server: TeamsServer, connector: BotConnectorEmulator, handler: ScriptedHandler
) -> None:
    activity = _bob_says(connector)
    activity["serviceUrl"] = "https://smba.trafficmanager.net/emea/"
    status, _ = await server.post(activity)
    assert status == 403 and handler.turns == [] and connector.calls == []


def test_no_app_id_is_refused_unless_explicitly_insecure(coordinator: Coordinator) -> None:
    common: dict[str, Any] = {"tenant_id": None, "app_type": "MultiTenant", "coordinator": coordinator}
    with pytest.raises(TeamsConfigError, match="DESKHAND_TEAMS_INSECURE_NO_AUTH"):
        build_teams_channel(ScriptedHandler(), app_id=None, app_password=None, insecure_no_auth=False, **common)
    with pytest.raises(TeamsConfigError, match="MICROSOFT_APP_PASSWORD"):
        build_teams_channel(ScriptedHandler(), app_id=APP_ID, app_password=None, insecure_no_auth=False, **common)
    assert build_teams_channel(ScriptedHandler(), app_id=None, app_password=None, insecure_no_auth=True, **common)


async def test_closing_a_channel_without_a_web_app_closes_its_http_session(coordinator: Coordinator) -> None:
    """The worker uses a Teams channel's outbox only (no web app whose clean-up would close the session)."""
    channel = build_teams_channel(
        ScriptedHandler(), app_id=None, app_password=None, insecure_no_auth=True, tenant_id=None,
        app_type="MultiTenant", coordinator=coordinator,
    )  # fmt: skip
    session = channel.transport.session()  # as the first message sent through the outbox opens it
    await channel.close()
    assert session.closed


def test_single_tenant_bot_needs_its_tenant(coordinator: Coordinator) -> None:
    with pytest.raises(TeamsConfigError, match="MICROSOFT_APP_TENANT_ID"):
        build_teams_channel(
            ScriptedHandler(),
            app_id=APP_ID,
            app_password="secret",
            tenant_id=None,
            app_type="SingleTenant",
            insecure_no_auth=False,
            coordinator=coordinator,
        )
    with pytest.raises(TeamsConfigError, match="app type"):
        build_teams_channel(
            ScriptedHandler(),
            app_id=APP_ID,
            app_password="secret",
            tenant_id=None,
            app_type="Anonymous",
            insecure_no_auth=False,
            coordinator=coordinator,
        )


def test_configuration_errors_never_echo_the_secret(coordinator: Coordinator) -> None:
    with pytest.raises(TeamsConfigError) as caught:
        build_teams_channel(
            ScriptedHandler(),
            app_id=APP_ID,
            app_password="s3cr3t-value",
            tenant_id=None,
            app_type="SingleTenant",
            insecure_no_auth=False,
            coordinator=coordinator,
        )
    assert "s3cr3t-value" not in str(caught.value) and json.dumps(str(caught.value))
