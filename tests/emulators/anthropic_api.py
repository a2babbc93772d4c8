"""A local Anthropic Messages API server (aiohttp on 127.0.0.1) for tests: scripted replies, tool use,
usage fields, streaming events and injectable failures; it records every request it receives."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from tests.emulators.llm_script import Recorded, Responder, Script, ScriptBook, words

API_KEY = "sk-ant-emulator"


class AnthropicEmulator:
    """`await start()` → `base_url` for `ChatAnthropic(base_url=…)`; `book` holds scripts and requests."""

    def __init__(self, responder: Responder | None = None, model: str = "emulated-claude") -> None:
        self.book = ScriptBook(responder)
        self.model = model
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/v1/messages", self._messages)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def requests(self) -> list[Recorded]:
        return self.book.requests

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return _error(400, "invalid_request_error", "body is not JSON")
        script = self.book.take(body)
        record = Recorded("/v1/messages", body, dict(request.headers), script.status)
        self.book.requests.append(record)
        # The SDK sends x-api-key (older releases) or a bearer token (newer ones).
        if API_KEY not in (request.headers.get("x-api-key"), request.headers.get("Authorization", "")[7:]):
            record.status = 401
            return _error(401, "authentication_error", "invalid x-api-key")
        if "max_tokens" not in body:
            record.status = 400
            return _error(400, "invalid_request_error", "max_tokens: Field required")
        if script.delay:
            await asyncio.sleep(script.delay)
        if script.status != 200:
            headers = {"retry-after": str(script.retry_after)} if script.retry_after is not None else {}
            kind = {429: "rate_limit_error", 529: "overloaded_error"}.get(script.status, "api_error")
            return _error(script.status, kind, "scripted failure", headers, script.body)
        n = self.book.next_id()
        usage = {
            "input_tokens": words(len(json.dumps(body.get("messages", []))) + len(str(body.get("system", "")))),
            "output_tokens": words(len(script.content) + 1),
        }
        content: list[dict[str, Any]] = []
        if script.content:
            content.append({"type": "text", "text": script.content})
        for i, call in enumerate(script.tool_calls):
            content.append({"type": "tool_use", "id": f"toolu_{n}_{i}", "name": call.name, "input": call.args or {}})
        stop = "tool_use" if script.tool_calls else "end_turn"
        message = {
            "id": f"msg_{n}",
            "type": "message",
            "role": "assistant",
            "model": body.get("model", self.model),
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": usage,
        }
        if not body.get("stream"):
            return web.json_response(message)
        return await self._stream(request, script, message)

    async def _stream(self, request: web.Request, script: Script, message: dict[str, Any]) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await resp.prepare(request)

        async def send(event: str, data: dict[str, Any]) -> None:
            await resp.write(f"event: {event}\ndata: {json.dumps({'type': event, **data})}\n\n".encode())

        start = {**message, "content": [], "stop_reason": None, "usage": {**message["usage"], "output_tokens": 1}}
        await send("message_start", {"message": start})
        index = 0
        if script.content:
            await send("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}})
            pieces = [script.content[i : i + 12] for i in range(0, len(script.content), 12)]
            for i, piece in enumerate(pieces):
                if script.truncate and i >= len(pieces) // 2:
                    await resp.write(b"event: content_block_delta\ndata: {")
                    assert request.transport is not None
                    request.transport.close()
                    return resp
                await send("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": piece}})
            await send("content_block_stop", {"index": 0})
            index = 1
        for block in message["content"]:
            if block["type"] != "tool_use":
                continue
            start_block = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
            await send("content_block_start", {"index": index, "content_block": start_block})
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
            await send("content_block_delta", {"index": index, "delta": delta})
            await send("content_block_stop", {"index": index})
            index += 1
        stop = {"stop_reason": message["stop_reason"], "stop_sequence": None}
        await send("message_delta", {"delta": stop, "usage": message["usage"]})  # cumulative, as the API sends
        await send("message_stop", {})
        await resp.write_eof()
        return resp


def _error(
    status: int, kind: str, message: str, headers: dict[str, str] | None = None, raw: str | None = None
) -> web.Response:
    text = raw if raw is not None else json.dumps({"type": "error", "error": {"type": kind, "message": message}})
    return web.Response(status=status, text=text, content_type="application/json", headers=headers or {})
