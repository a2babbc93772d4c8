"""The aiohttp route for Slack's Events API and interactivity: signature, body shape, then Bolt dispatch."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def well_formed(body: str, content_type: str) -> bool:
    """Whether Bolt can parse the body: a JSON object, or a form whose `payload` (if any) is one."""
    try:
        if content_type == "application/json" or body.lstrip().startswith("{"):
            return isinstance(json.loads(body), dict)
        form = parse_qs(body, keep_blank_values=True)
        if "payload" in form:
            return isinstance(json.loads(form["payload"][0]), dict)
        return True
    except ValueError:
        return False


def build_events_endpoint(app: AsyncApp, signing_secret: str) -> Handler:
    """POST /slack/events. Unsigned or stale (> 5 min) → 401 before anything is parsed; a signed but
    malformed body → 400 (plain Bolt would answer 500); otherwise Bolt's answer (the ack)."""
    verifier = SignatureVerifier(signing_secret)

    async def events(request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            return web.Response(status=400, text="body is not UTF-8")
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        signature = request.headers.get("X-Slack-Signature", "")
        if not timestamp.isdigit() or not verifier.is_valid(body=body, timestamp=timestamp, signature=signature):
            return web.Response(status=401, text="invalid request signature")
        if not well_formed(body, request.content_type):
            return web.Response(status=400, text="malformed body")
        try:
            response = await app.async_dispatch(await to_bolt_request(request))
        except Exception:
            reference = uuid.uuid4().hex[:8]
            log.exception("Slack dispatch failed (reference %s)", reference)
            return web.Response(status=500, text=f"internal error, reference {reference}")
        return await to_aiohttp_response(response)

    return events
