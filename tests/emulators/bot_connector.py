"""A local Bot Connector (Teams' `serviceUrl`) that records the bot's calls, serves profiles, fails on demand."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from tests.emulators.teams_streams import StreamBook, StreamError, stream_info

TENANT_ID = "5f3c1e2a-7b8d-4c6e-9a0f-1b2c3d4e5f60"  # the fictional Larkspur Analytics tenant
BOT_ID = "28:deskhand-bot"
BOT_NAME = "Deskhand"

SAMPLE_PEOPLE = (
    "Alice Nguyen", "Bob Martin", "Carol Diaz", "Dan Okafor", "Erin Walsh", "Frank Li", "Grace Kim",
    "Hector Ruiz", "Ivy Chen", "Jamal Brooks", "Kate Novak", "Liam Murphy", "Maya Patel", "Noah Schmidt",
    "Olivia Rossi", "Priya Shah", "Sam Taylor", "Tom Becker",
)  # fmt: skip


@dataclass(frozen=True)
class TeamsUser:
    """A Teams member: the ids Teams uses and the profile `GET …/members/{id}` returns."""

    name: str
    email: str
    id: str  # "29:…" Teams user id
    aad_object_id: str

    @classmethod
    def for_name(cls, name: str, domain: str = "example.com") -> TeamsUser:
        email = f"{name.lower().replace(' ', '.')}@{domain}"
        digest = hashlib.sha256(email.encode()).hexdigest()
        return cls(name, email, f"29:1{digest[:40]}", str(uuid.uuid5(uuid.NAMESPACE_URL, f"aad:{email}")))

    def account(self) -> dict[str, Any]:
        """The `from` of an activity this user sends."""
        return {"id": self.id, "name": self.name, "aadObjectId": self.aad_object_id}

    def profile(self) -> dict[str, Any]:
        given, _, surname = self.name.partition(" ")
        return {
            **self.account(),
            "email": self.email,
            "userPrincipalName": self.email,
            "givenName": given,
            "surname": surname,
            "tenantId": TENANT_ID,
            "userRole": "user",
        }


def sample_users() -> dict[str, TeamsUser]:
    """The sample world's people, by e-mail."""
    users = (TeamsUser.for_name(name) for name in SAMPLE_PEOPLE)
    return {user.email: user for user in users}


@dataclass(frozen=True)
class ConnectorCall:
    """One request the bot made."""

    method: str
    segments: tuple[str, ...]  # decoded path segments after /v3/conversations
    body: Any
    authorization: str | None
    status: int
    response_id: str | None = None
    peer: str = ""  # the client's address: one per TCP connection
    at: float = field(default_factory=time.monotonic)

    @property
    def conversation_id(self) -> str | None:
        return self.segments[0] if self.segments else None

    @property
    def kind(self) -> str:
        """ "send" | "reply" | "update" | "member" | "create_conversation" | "other"."""
        s = self.segments
        if not s and self.method == "POST":
            return "create_conversation"
        if len(s) >= 2 and s[1] == "activities":
            if self.method == "PUT" and len(s) == 3:
                return "update"
            if self.method == "POST":
                return "reply" if len(s) == 3 else "send"
        if len(s) == 3 and s[1] == "members" and self.method == "GET":
            return "member"
        return "other"

    @property
    def target_id(self) -> str | None:
        """The activity replied to or updated."""
        return self.segments[2] if len(self.segments) == 3 and self.segments[1] == "activities" else None

    @property
    def ok(self) -> bool:
        return self.status < 400

    @property
    def is_message(self) -> bool:
        """A successful post of a message the user sees (not typing, not an update)."""
        return (
            self.ok and self.kind in ("send", "reply") and isinstance(self.body, dict)
            and self.body.get("type") == "message"
        )  # fmt: skip

    @property
    def stream_type(self) -> str | None:
        """ "informative" | "streaming" | "final" for a piece of a streamed message."""
        try:
            info = stream_info(self.body)
        except StreamError:
            return None
        return str(info.get("streamType")) if info else None

    @property
    def text(self) -> str:
        return str((self.body or {}).get("text") or "") if isinstance(self.body, dict) else ""

    @property
    def cards(self) -> list[dict[str, Any]]:
        if not isinstance(self.body, dict):
            return []
        return [
            a["content"]
            for a in self.body.get("attachments") or []
            if a.get("contentType") == "application/vnd.microsoft.card.adaptive"
        ]


class BotConnectorEmulator:
    """Serve on 127.0.0.1 (an ephemeral port); `url` is the `serviceUrl` to put in activities."""

    def __init__(self, users: Iterable[TeamsUser] | None = None) -> None:
        self.users = {u.email: u for u in (users if users is not None else sample_users().values())}
        self._by_id = {key: u for u in self.users.values() for key in (u.id, u.aad_object_id)}
        self.calls: list[ConnectorCall] = []
        self._failures: list[tuple[str | None, int, int | None, str | None]] = []
        self.streams = StreamBook()
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/v3/conversations", self._handle)
        app.router.add_route("*", "/v3/conversations/{rest:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def user(self, email: str) -> TeamsUser:
        return self.users[email]

    def fail_next(self, count: int = 1, status: int = 500, *, retry_after: int | None = None,
                  method: str | None = None, activity_type: str | None = None) -> None:  # fmt: skip
        """Answer the next `count` requests (of `method`, carrying an activity of `activity_type`, if
        given) with `status`."""
        self._failures.extend((method, status, retry_after, activity_type) for _ in range(count))

    def reset(self) -> None:
        self.calls.clear()
        self._failures.clear()
        self.streams = StreamBook(self.streams.min_interval_s)

    def messages(self, conversation_id: str | None = None) -> list[ConnectorCall]:
        """Messages the bot posted (replies and new messages), optionally in one conversation."""
        return [
            c for c in self.calls
            if c.is_message and (conversation_id is None or c.conversation_id == conversation_id)
        ]  # fmt: skip

    def updates(self, activity_id: str | None = None) -> list[ConnectorCall]:
        return [c for c in self.calls if c.kind == "update" and c.ok and activity_id in (None, c.target_id)]

    async def wait_for(
        self, condition: Callable[[], Any], timeout: float = 5.0, message: str = "connector condition"
    ) -> Any:
        """Poll `condition()` until it is truthy (returning it) or fail after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            result = condition()
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"{message}: not met within {timeout}s; calls: {self.summary()}")
            await asyncio.sleep(0.01)

    def summary(self) -> list[str]:
        return [f"{c.method} {'/'.join(c.segments)} -> {c.status}" for c in self.calls]

    async def _handle(self, request: web.Request) -> web.Response:
        raw = request.raw_path.split("?", 1)[0]
        tail = raw[len("/v3/conversations") :].strip("/")
        segments = tuple(unquote(s) for s in tail.split("/")) if tail else ()
        body: Any = None
        if request.can_read_body:
            try:
                body = json.loads(await request.read())
            except ValueError:
                body = None
        failure = self._take_failure(request.method, body)
        auth = request.headers.get("Authorization")
        peer = str(request.transport.get_extra_info("peername")) if request.transport else ""
        if failure is not None:
            status, retry_after = failure
            self.calls.append(ConnectorCall(request.method, segments, body, auth, status, peer=peer))
            headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
            return web.json_response(
                {"error": {"code": "ServiceError", "message": "failing on request"}}, status=status,
                headers=headers,
            )  # fmt: skip
        status, payload = self._respond(request.method, segments, body)
        response_id = payload.get("id") if isinstance(payload, dict) else None
        self.calls.append(ConnectorCall(request.method, segments, body, auth, status, response_id, peer))
        return web.json_response(payload, status=status)

    def _take_failure(self, method: str, body: Any) -> tuple[int, int | None] | None:
        kind = body.get("type") if isinstance(body, dict) else None
        for i, (only, status, retry_after, activity_type) in enumerate(self._failures):
            if only in (None, method) and activity_type in (None, kind):
                del self._failures[i]
                return status, retry_after
        return None

    def _post_activity(self, conversation_id: str, body: Any) -> tuple[int, Any]:
        try:
            stream, info = self.streams.check(conversation_id, body)
        except StreamError as exc:
            return exc.status, {"error": {"code": exc.code, "message": str(exc)}}
        if stream is not None:  # a later piece of a stream: Teams answers 202 with no body content
            self.streams.record(stream, info or {}, body, stream.id, conversation_id)
            return 202, {}
        new_id = f"1{next(self._ids):012d}"
        if info is not None:  # the first piece: 201 with the stream id (the streamed message's activity id)
            self.streams.record(None, info, body, new_id, conversation_id)
            return 201, {"id": new_id}
        return 200, {"id": new_id}

    def _respond(self, method: str, segments: tuple[str, ...], body: Any) -> tuple[int, Any]:
        if not segments and method == "POST":
            members = (body or {}).get("members") or [{}]
            member = str(members[0].get("id", ""))
            conversation = "a:1" + hashlib.sha256(member.encode()).hexdigest()[:32]
            return 201, {"id": conversation, "activityId": "", "serviceUrl": self.url}
        if len(segments) >= 2 and segments[1] == "activities":
            if method == "POST":
                return self._post_activity(segments[0], body)
            if method == "PUT" and len(segments) == 3:
                return 200, {"id": segments[2]}
            if method == "DELETE":
                return 200, {}
        if len(segments) == 3 and segments[1] == "members" and method == "GET":
            user = self._by_id.get(segments[2])
            if user is None:
                return 404, {"error": {"code": "MemberNotFoundInConversation", "message": "not found"}}
            return 200, user.profile()
        if len(segments) == 2 and segments[1] == "members" and method == "GET":
            return 200, [u.profile() for u in self.users.values()]
        return 404, {"error": {"code": "NotFound", "message": "unknown route"}}
