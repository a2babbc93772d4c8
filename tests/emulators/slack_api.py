"""A local Slack Web API emulator (aiohttp on 127.0.0.1) that records every call and can misbehave on demand."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

from tests.emulators import slack_ai, slack_private
from tests.emulators.slack_views import ViewsRecorder

TEAM_ID = "T_LARKSPUR"
BOT_USER_ID = "U_DESKHAND"
BOT_ID = "B_DESKHAND"
BOT_TOKEN = "xoxb-emulator-token"
APP_TOKEN = "xapp-emulator-token"

# The sample world's people, with Slack ids derived from their first names.
SAMPLE_NAMES = (
    "Alice Nguyen, Bob Martin, Carol Diaz, Dan Okafor, Erin Walsh, Frank Li, Grace Kim, Hector Ruiz, Ivy Chen, "
    "Jamal Brooks, Kate Novak, Liam Murphy, Maya Patel, Noah Schmidt, Olivia Rossi, Priya Shah, Sam Taylor, Tom Becker"
)
PEOPLE: dict[str, tuple[str, str]] = {
    f"U_{first.upper()}": (f"{first.lower()}.{last.lower()}@example.com", f"{first} {last}")
    for first, last in (name.split() for name in SAMPLE_NAMES.split(", "))
}
# In the workspace but not in the company directory.
STRANGER = ("U_STRANGER", "visitor@partner.example.org", "Vic Visitor")


def slack_id(email: str) -> str:
    """The emulator's Slack id for a sample-world e-mail."""
    for uid, (mail, _name) in PEOPLE.items():
        if mail == email:
            return uid
    raise KeyError(email)


@dataclass
class ApiCall:
    """One recorded Web API call."""

    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    status: int
    ok: bool
    at: float = field(default_factory=time.monotonic)
    response: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Fault:
    status: int
    remaining: int
    method: str | None
    retry_after: int = 0
    channel: str | None = None
    body: str | None = None  # a raw body instead of Slack's JSON error (HTML, plain text, broken JSON)
    content_type: str = "application/json"
    delay_s: float = 0.0  # answer only after this long (longer than the client's time-out = a hang)


class SlackApiEmulator:
    """`await start()` → `base_url` for `AsyncWebClient`; inspect `calls`, `messages`; inject faults."""

    def __init__(self, token: str = BOT_TOKEN) -> None:
        self.token = token
        self.calls: list[ApiCall] = []
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}  # (channel, ts) → latest message
        self.views = ViewsRecorder()  # views.open: modals shown, argument checks, expired triggers
        self.private = slack_private.PrivateRecorder()  # ephemeral, App Home, response_url
        self._faults: list[_Fault] = []
        self._seq = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._sockets: list[web.WebSocketResponse] = []
        self._socket_acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.socket_connected = asyncio.Event()
        self.port = 0
        self.streaming_error: str | None = None  # e.g. "unknown_method": chat.*Stream unavailable

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle)
        app.router.add_get("/socket", self._socket)
        app.router.add_post("/response/{id}", lambda r: self.private.respond(r))
        app.router.add_get("/_emulator/calls", self._dump)
        app.router.add_post("/_emulator/reset", self._reset)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self.base_url

    async def stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # ---- inspection -------------------------------------------------------------------------

    def of(self, method: str, *, ok_only: bool = True) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method and (c.ok or not ok_only)]

    def posts(self, channel: str | None = None, thread_ts: str | None = None) -> list[ApiCall]:
        """Successful chat.postMessage calls, optionally in one channel/thread."""
        return [
            c
            for c in self.of("chat.postMessage")
            if (channel is None or c.params.get("channel") == channel)
            and (thread_ts is None or c.params.get("thread_ts") == thread_ts)
        ]

    def thread(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        """The current messages in a thread, in posting order."""
        found = [m for (ch, _ts), m in self.messages.items() if ch == channel and m.get("thread_ts") == thread_ts]
        return sorted(found, key=lambda m: m["ts"])

    def reset(self) -> None:
        self.calls.clear()
        self.messages.clear()
        self._faults.clear()
        self.views, self.private = ViewsRecorder(), slack_private.PrivateRecorder()

    async def _dump(self, request: web.Request) -> web.Response:
        """The recorded calls from index `since` on, as JSON (for a benchmark in another process)."""
        since = int(request.query.get("since", "0"))
        calls = [
            {"method": c.method, "params": c.params, "status": c.status, "ok": c.ok, "at": c.at, "response": c.response}
            for c in self.calls[since:]
        ]
        return web.json_response({"calls": calls})

    async def _reset(self, _request: web.Request) -> web.Response:
        self.reset()
        return web.json_response({"ok": True})

    # ---- fault injection --------------------------------------------------------------------

    def rate_limit(self, count: int, *, retry_after: int = 1, method: str | None = None) -> None:
        """The next `count` calls (of `method`, or any) answer HTTP 429 with `Retry-After`."""
        self._faults.append(_Fault(429, count, method, retry_after))

    def fail(self, count: int, *, status: int = 500, method: str | None = None, channel: str | None = None) -> None:
        """The next `count` calls (of `method`, or any; to `channel`, or any) answer with HTTP `status`."""
        self._faults.append(_Fault(status, count, method, channel=channel))

    def html(self, count: int, *, status: int = 502, method: str | None = None) -> None:
        """The next `count` calls answer an HTML error page, as a proxy or load balancer in front would."""
        page = f"<html><head><title>{status}</title></head><body><h1>{status}</h1>nginx</body></html>"
        self._faults.append(_Fault(status, count, method, body=page, content_type="text/html"))

    def plain_text(self, count: int, *, status: int = 200, method: str | None = None) -> None:
        """The next `count` calls answer a `text/plain` body instead of JSON."""
        self._faults.append(_Fault(status, count, method, body="upstream connect error", content_type="text/plain"))

    def invalid_json(self, count: int, *, method: str | None = None) -> None:
        """The next `count` calls answer HTTP 200 `application/json` whose body is not valid JSON."""
        self._faults.append(_Fault(200, count, method, body='{"ok": true, "user": {', content_type="application/json"))

    def hang(self, count: int, *, seconds: float, method: str | None = None) -> None:
        """The next `count` calls answer (normally) only after `seconds`: a hang past a shorter time-out."""
        self._faults.append(_Fault(200, count, method, delay_s=seconds))

    # ---- Socket Mode ------------------------------------------------------------------------

    async def socket_send(self, kind: str, payload: dict[str, Any], timeout: float = 5.0) -> dict[str, Any]:
        """Push an envelope to the connected Socket Mode client; returns its ack."""
        await asyncio.wait_for(self.socket_connected.wait(), timeout)
        envelope_id = uuid.uuid4().hex
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._socket_acks[envelope_id] = future
        envelope = {"envelope_id": envelope_id, "type": kind, "payload": payload, "accepts_response_payload": False}
        await self._sockets[-1].send_str(json.dumps(envelope))
        return await asyncio.wait_for(future, timeout)

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_str(json.dumps({"type": "hello", "num_connections": 1}))
        self.socket_connected.set()
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                data = json.loads(msg.data)
                pending = self._socket_acks.pop(str(data.get("envelope_id")), None)
                if pending is not None and not pending.done():
                    pending.set_result(data)
        self._sockets.remove(ws)
        return ws

    # ---- the API ----------------------------------------------------------------------------

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        raw = await request.text()
        if raw:
            if request.content_type == "application/json":
                params.update(json.loads(raw))
            else:
                params.update(dict(parse_qsl(raw, keep_blank_values=True)))
        for key in ("blocks", "attachments"):
            if isinstance(params.get(key), str) and params[key].startswith("["):
                params[key] = json.loads(params[key])
        return params

    def _fault_for(self, method: str, params: dict[str, Any]) -> _Fault | None:
        for fault in self._faults:
            if fault.channel is not None and params.get("channel") != fault.channel:
                continue
            if fault.remaining > 0 and fault.method in (None, method):
                fault.remaining -= 1
                return fault
        return None

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        headers = dict(request.headers)
        fault = self._fault_for(method, params)
        request_id = {"X-Slack-Req-Id": uuid.uuid4().hex}  # Slack's own request id header
        if fault is not None and fault.delay_s:
            await asyncio.sleep(fault.delay_s)  # a hang: the client should have given up by now
        elif fault is not None and fault.body is not None:
            self.calls.append(ApiCall(method, params, headers, fault.status, False, response={"raw": fault.body}))
            return web.Response(
                status=fault.status, body=fault.body.encode(), content_type=fault.content_type, headers=request_id
            )
        elif fault is not None:
            body = {"ok": False, "error": "ratelimited" if fault.status == 429 else "internal_error"}
            self.calls.append(ApiCall(method, params, headers, fault.status, False, response=body))
            extra = {"Retry-After": str(fault.retry_after)} if fault.status == 429 else {}
            return web.json_response(body, status=fault.status, headers={**extra, **request_id})
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip() or params.get("token")
        expected = APP_TOKEN if method == "apps.connections.open" else self.token
        body = {"ok": False, "error": "invalid_auth"} if token != expected else self._answer(method, params)
        self.calls.append(ApiCall(method, params, headers, 200, bool(body.get("ok")), response=body))
        return web.json_response(body, headers=request_id)

    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._seq):06d}"

    def _user(self, uid: str) -> dict[str, Any] | None:
        if uid == BOT_USER_ID:
            return {"id": uid, "name": "deskhand", "is_bot": True, "profile": {"real_name": "Deskhand"}}
        if uid == STRANGER[0]:
            email, name = STRANGER[1], STRANGER[2]
        elif uid in PEOPLE:
            email, name = PEOPLE[uid]
        else:
            return None
        return {
            "id": uid,
            "team_id": TEAM_ID,
            "name": email.split("@")[0],
            "real_name": name,
            "is_bot": False,
            "deleted": False,
            "profile": {"email": email, "real_name": name, "display_name": name.split()[0]},
        }

    def _answer(self, method: str, p: dict[str, Any]) -> dict[str, Any]:
        if (ai := slack_ai.answer(self, method, p)) is not None:  # AI-app methods; Block Kit checks
            return ai
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://larkspur.slack.com/",
                "team": "Larkspur Analytics",
                "user": "deskhand",
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
            }
        if method == "users.info":
            user = self._user(str(p.get("user")))
            return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}
        if method == "users.lookupByEmail":
            email = str(p.get("email", "")).lower()
            uid = next((u for u, (mail, _n) in PEOPLE.items() if mail == email), None)
            if uid is None and email == STRANGER[1]:
                uid = STRANGER[0]
            return {"ok": True, "user": self._user(uid)} if uid else {"ok": False, "error": "users_not_found"}
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": f"D{str(p.get('users', '')).split(',')[0]}"}}
        if method == "chat.postMessage":
            if not p.get("channel"):
                return {"ok": False, "error": "channel_not_found"}
            if refused := self.private.refusal(str(p["channel"])):
                return refused
            ts = self._next_ts()
            message = {
                "ts": ts,
                "text": p.get("text", ""),
                "blocks": p.get("blocks", []),
                "thread_ts": p.get("thread_ts") or ts,
                "user": BOT_USER_ID,
                "bot_id": BOT_ID,
                "updates": 0,
            }
            self.messages[(str(p["channel"]), ts)] = message
            return {"ok": True, "channel": p["channel"], "ts": ts, "message": message}
        if method == "chat.update":
            key = (str(p.get("channel")), str(p.get("ts")))
            if key not in self.messages:
                return {"ok": False, "error": "message_not_found"}
            message = self.messages[key]
            message.update(text=p.get("text", ""), blocks=p.get("blocks", []), updates=message["updates"] + 1)
            return {"ok": True, "channel": key[0], "ts": key[1], "text": message["text"]}
        if method == "chat.getPermalink":
            channel, ts = str(p.get("channel") or ""), str(p.get("message_ts") or "")
            linked = self.messages.get((channel, ts))
            if not channel or not ts:
                return {"ok": False, "error": "channel_not_found" if not channel else "message_not_found"}
            link = f"https://larkspur.slack.com/archives/{channel}/p{ts.replace('.', '')}"
            if linked is not None and linked.get("thread_ts") not in (None, ts):
                link += f"?thread_ts={linked['thread_ts']}&cid={channel}"
            return {"ok": True, "channel": channel, "permalink": link}
        if method in slack_private.METHODS:
            return self.private.answer(method, p)
        if method == "views.open":
            return self.views.answer(p)
        if method == "reactions.add":
            return {"ok": True}
        if method == "apps.connections.open":
            return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket"}
        return {"ok": False, "error": "unknown_method"}


def serve_in_process(port_queue: Any) -> None:
    """Entry point for running the emulator in its own process; puts its base URL on `port_queue`."""

    async def run() -> None:
        emulator = SlackApiEmulator()
        port_queue.put(await emulator.start())
        await asyncio.Event().wait()

    asyncio.run(run())
