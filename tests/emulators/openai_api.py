"""A local OpenAI-compatible chat-completions server (aiohttp on 127.0.0.1) for tests: scripted replies,
tool calls, usage fields, streaming (SSE) and injectable failures; it records every request it receives."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from aiohttp import web

from tests.emulators.llm_script import Recorded, Responder, Script, ScriptBook, words

API_KEY = "sk-emulator"


class OpenAIEmulator:
    """`await start()` → `base_url` (…/v1) for `ChatOpenAI(base_url=…)`; `book` holds scripts and requests."""

    def __init__(self, responder: Responder | None = None, model: str = "emulated-gpt") -> None:
        self.book = ScriptBook(responder)
        self.model = model
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._completions)
        app.router.add_get("/v1/models", self._models)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}/v1"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def requests(self) -> list[Recorded]:
        return self.book.requests

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": self.model, "object": "model"}]})

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return _error(400, "invalid_request_error", "body is not JSON")
        script = self.book.take(body)
        record = Recorded("/v1/chat/completions", body, dict(request.headers), script.status)
        self.book.requests.append(record)
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            record.status = 401
            return _error(401, "invalid_api_key", "Incorrect API key provided")
        if script.delay:
            await asyncio.sleep(script.delay)  # the client's time-out fires first
        if script.status != 200:
            headers = {"Retry-After": str(script.retry_after)} if script.retry_after is not None else {}
            kind = "rate_limit_exceeded" if script.status == 429 else "server_error"
            return _error(script.status, kind, "scripted failure", headers, script.body)
        n = self.book.next_id()
        prompt = words(len(json.dumps(body.get("messages", []))))
        usage = {"prompt_tokens": prompt, "completion_tokens": words(len(script.content) + 1)}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        model = body.get("model", self.model)
        if body.get("stream"):
            return await self._stream(request, script, n, model, usage, bool(body.get("stream_options")))
        message: dict[str, Any] = {"role": "assistant", "content": script.content or None}
        if script.tool_calls:
            message["tool_calls"] = [
                {"id": f"call_{n}_{i}", "type": "function", "function": {"name": c.name, "arguments": c.arguments()}}
                for i, c in enumerate(script.tool_calls)
            ]
        return web.json_response(
            {
                "id": f"chatcmpl-{n}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {"index": 0, "message": message, "finish_reason": "tool_calls" if script.tool_calls else "stop"}
                ],
                "usage": usage,
            }
        )

    async def _stream(
        self, request: web.Request, script: Script, n: int, model: str, usage: dict[str, int], with_usage: bool
    ) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await resp.prepare(request)
        base = {"id": f"chatcmpl-{n}", "object": "chat.completion.chunk", "created": int(time.time()), "model": model}

        async def send(choices: list[dict[str, Any]], **extra: Any) -> None:
            await resp.write(f"data: {json.dumps({**base, 'choices': choices, **extra})}\n\n".encode())

        await send([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
        cut = script.hold_at if script.hold is not None else 0
        pieces = _pieces(script.content[:cut]) + _pieces(script.content[cut:])
        for i, piece in enumerate(pieces):
            if script.hold is not None and i == len(_pieces(script.content[:cut])):
                await script.hold.wait()  # the test lets the rest of the answer come
            if script.truncate and i >= len(pieces) // 2:
                await resp.write(b'data: {"id": "chatcmpl-')  # cut mid-event, no [DONE]
                assert request.transport is not None
                request.transport.close()
                return resp
            await send([{"index": 0, "delta": {"content": piece}, "finish_reason": None}])
        for i, call in enumerate(script.tool_calls):
            delta = {
                "tool_calls": [
                    {
                        "index": i,
                        "id": f"call_{n}_{i}",
                        "type": "function",
                        "function": {"name": call.name, "arguments": call.arguments()},
                    }
                ]
            }
            await send([{"index": 0, "delta": delta, "finish_reason": None}])
        await send([{"index": 0, "delta": {}, "finish_reason": "tool_calls" if script.tool_calls else "stop"}])
        if with_usage:
            await send([], usage=usage)
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp


def _pieces(text: str, size: int = 12) -> list[str]:
    """Stream in small pieces that split words and sentences, as real servers do."""
    return [text[i : i + size] for i in range(0, len(text), size)]


def _error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, raw: str | None = None
) -> web.Response:
    text = raw if raw is not None else json.dumps({"error": {"message": message, "type": code, "code": code}})
    return web.Response(status=status, text=text, content_type="application/json", headers=headers or {})
