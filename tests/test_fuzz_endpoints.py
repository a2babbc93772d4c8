"""Property-based fuzzing of the public endpoints: whatever arrives, the answer is 4xx/2xx, never 5xx or a traceback."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import http.client
import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.server import build_web_app
from channels.coordination import build_coordinator
from channels.slack import build_slack_channel
from channels.teams import build_teams_channel
from tests.channels.scripted_handler import ScriptedHandler
from tests.emulators.slack_api import BOT_TOKEN, BOT_USER_ID, SlackApiEmulator

SECRET = "fuzz-signing-secret"
EXAMPLES = 100


class _Problems(logging.Handler):
    """Collects every log record that carries a traceback or is an error."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class _Server:
    port: int
    problems: _Problems
    loop: asyncio.AbstractEventLoop
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    def post(self, path: str, body: bytes, headers: dict[str, bytes | str]) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        try:
            conn.putrequest("POST", path)
            for name, value in {"Content-Length": str(len(body)), **headers}.items():
                conn.putheader(name, value)
            conn.endheaders(body)
            response = conn.getresponse()
            response.read()
            return response.status
        finally:
            conn.close()


@pytest.fixture(scope="module")
def server() -> Iterator[_Server]:
    """`deskhand serve`'s web app with Slack (signed, Web API at an emulator) and Teams (with an app id,
    so unauthenticated requests are refused), in a thread of its own (hypothesis drives it synchronously)."""
    problems = _Problems()
    logging.getLogger().addHandler(problems)
    ready: dict[str, Any] = {}
    started = threading.Event()

    async def run() -> None:
        emulator = SlackApiEmulator()
        await emulator.start()
        handler = ScriptedHandler()
        coordinator = build_coordinator(None)
        slack = build_slack_channel(
            handler,
            bot_token=BOT_TOKEN,
            signing_secret=SECRET,
            api_url=emulator.base_url,
            coordinator=coordinator,
            bot_user_id=BOT_USER_ID,
        )
        teams = build_teams_channel(
            handler,
            app_id="00000000-0000-0000-0000-00000000f022",
            app_password="not-a-real-password",
            tenant_id=None,
            app_type="MultiTenant",
            insecure_no_auth=False,
            coordinator=coordinator,
        )
        app = build_web_app(attach=[slack.attach, teams.attach])
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        stop = asyncio.Event()
        ready["server"] = _Server(int(runner.addresses[0][1]), problems, asyncio.get_running_loop(), stop)
        started.set()
        await stop.wait()
        await runner.cleanup()
        await emulator.stop()

    thread = threading.Thread(target=lambda: asyncio.run(run()), daemon=True)
    thread.start()
    assert started.wait(30), "server did not start"
    srv: _Server = ready["server"]
    yield srv
    srv.loop.call_soon_threadsafe(srv.stop.set)
    thread.join(30)
    logging.getLogger().removeHandler(problems)


def _sign(body: bytes, timestamp: str) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(SECRET.encode(), base, hashlib.sha256).hexdigest()


def _header_safe(value: bytes) -> bool:
    return not any(c in value for c in b"\r\n\x00")


# ---- strategies -----------------------------------------------------------------------------

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), st.floats(allow_nan=False), st.text()
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=8,
)
SLACK_KEYS = [
    "type",
    "event",
    "event_id",
    "team_id",
    "user",
    "channel",
    "message",
    "container",
    "actions",
    "text",
    "ts",
    "thread_ts",
    "subtype",
    "bot_id",
    "channel_type",
    "challenge",
    "token",
    "api_app_id",
    "authorizations",
    "view",
    "response_url",
]
slack_shapes = st.fixed_dictionaries(
    {"type": st.sampled_from(["event_callback", "block_actions", "url_verification", "view_submission", "shortcut"])},
    optional={k: json_values for k in SLACK_KEYS if k != "type"}
    | {
        "event": st.fixed_dictionaries(
            {"type": st.sampled_from(["app_mention", "message", "reaction_added"]) | json_values},
            optional={k: json_values for k in ("user", "channel", "ts", "text", "thread_ts", "subtype", "team")},
        )
        | json_values,
        "actions": st.lists(
            st.fixed_dictionaries({}, optional={k: json_values for k in ("action_id", "value", "action_ts")})
            | json_values,
            max_size=2,
        ),
    },
)


def _nested(depth: int, kind: str) -> bytes:
    if kind == "list":
        return b"[" * depth + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


nested_bodies = st.builds(_nested, st.integers(min_value=1, max_value=200_000), st.sampled_from(["list", "dict"]))
slack_bodies = st.one_of(
    slack_shapes.map(lambda d: json.dumps(d).encode()),
    slack_shapes.map(lambda d: urlencode({"payload": json.dumps(d)}).encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
    json_values.map(lambda v: urlencode({"payload": json.dumps(v)}).encode()),
    st.binary(max_size=300),
    st.text(max_size=300).map(str.encode),
    nested_bodies,
)
content_types = st.sampled_from(
    ["application/json", "application/x-www-form-urlencoded", "text/plain", "", "application/json; charset=latin-1"]
)
timestamps = st.one_of(
    st.text(max_size=30).map(lambda t: t.encode("utf-8")),
    st.integers().map(lambda i: str(i).encode()),
    st.sampled_from([b"", b"-1", b"1e10", "²³".encode(), "１２３".encode(), b"9" * 400, b" 123", b"0x10", b"NaN"]),
).filter(_header_safe)

teams_shapes = st.fixed_dictionaries(
    {},
    optional={
        k: json_values
        for k in ("type", "serviceUrl", "id", "text", "channelId", "conversation", "from", "recipient", "value")
    }
    | {
        "type": st.sampled_from(["message", "invoke", "conversationUpdate"]),
        "serviceUrl": st.sampled_from(["http://127.0.0.1:9/", "https://smba.example.com/", "ftp://x", "http://"]),
        "conversation": st.fixed_dictionaries({}, optional={"id": json_values}) | json_values,
        "from": st.fixed_dictionaries({}, optional={"id": json_values}) | json_values,
        "recipient": st.fixed_dictionaries({}, optional={"id": json_values}) | json_values,
    },
)
teams_bodies = st.one_of(
    teams_shapes.map(lambda d: json.dumps(d).encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=300),
    nested_bodies,
)

FUZZ = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


def _clean(server: _Server, before: int, what: str) -> None:
    new = server.problems.records[before:]
    assert not new, f"{what}: " + "; ".join(f"{r.name}: {r.getMessage()}" for r in new)


@FUZZ
@given(timestamp=timestamps, body=slack_bodies, ctype=content_types, sign_it=st.booleans())
def test_slack_events_never_answer_5xx(
    server: _Server, timestamp: bytes, body: bytes, ctype: str, sign_it: bool
) -> None:
    before = len(server.problems.records)
    headers: dict[str, bytes | str] = {"Content-Type": ctype, "X-Slack-Request-Timestamp": timestamp}
    if sign_it:
        try:
            headers["X-Slack-Signature"] = _sign(body, timestamp.decode("utf-8"))
        except UnicodeDecodeError:
            headers["X-Slack-Signature"] = "v0=" + "0" * 64
    status = server.post("/slack/events", body, headers)
    assert status < 500, status
    _clean(server, before, "slack")


@FUZZ
@given(body=slack_bodies, ctype=content_types)
def test_signed_slack_payloads_of_any_shape_never_answer_5xx(server: _Server, body: bytes, ctype: str) -> None:
    before = len(server.problems.records)
    now = str(int(time.time()))
    headers: dict[str, bytes | str] = {
        "Content-Type": ctype,
        "X-Slack-Request-Timestamp": now,
        "X-Slack-Signature": _sign(body, now),
    }
    status = server.post("/slack/events", body, headers)
    assert status < 500, status
    _clean(server, before, "slack signed")


@FUZZ
@given(
    signature=st.text(max_size=80).map(lambda t: t.encode("utf-8")).filter(_header_safe),
    timestamp=st.integers(min_value=0, max_value=2**40).map(lambda i: str(i).encode()),
)
def test_slack_signature_headers_of_any_shape_never_answer_5xx(
    server: _Server, signature: bytes, timestamp: bytes
) -> None:
    before = len(server.problems.records)
    headers: dict[str, bytes | str] = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
    }
    status = server.post("/slack/events", b'{"type": "event_callback"}', headers)
    assert status in (400, 401), status  # 400: a header aiohttp itself refuses to parse
    _clean(server, before, "slack signature")


@FUZZ
@given(body=teams_bodies, ctype=content_types)
def test_teams_messages_without_a_token_never_answer_5xx(server: _Server, body: bytes, ctype: str) -> None:
    before = len(server.problems.records)
    status = server.post("/api/messages", body, {"Content-Type": ctype})
    assert status < 500, status
    _clean(server, before, "teams")


@pytest.mark.parametrize("depth", [1_000, 100_000])
@pytest.mark.parametrize("path", ["/api/messages", "/slack/events"])
def test_deeply_nested_json_is_a_4xx(server: _Server, path: str, depth: int) -> None:
    before = len(server.problems.records)
    body = _nested(depth, "list")
    now = str(int(time.time()))
    headers: dict[str, bytes | str] = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": now,
        "X-Slack-Signature": _sign(body, now),
    }
    assert 400 <= server.post(path, body, headers) < 500
    _clean(server, before, path)


@pytest.mark.parametrize("timestamp", ["²³", "１２３", "9" * 400, "-5", "1e3", ""])
def test_crafted_slack_timestamps_are_a_401(server: _Server, timestamp: str) -> None:
    before = len(server.problems.records)
    body = b'{"type": "url_verification", "challenge": "x"}'
    headers: dict[str, bytes | str] = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": timestamp.encode(),
        "X-Slack-Signature": _sign(body, timestamp),
    }
    assert server.post("/slack/events", body, headers) == 401
    _clean(server, before, "timestamp")
