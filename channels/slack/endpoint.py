"""The aiohttp route for Slack's Events API and interactivity: signature, body shape, then Bolt dispatch."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.internals import parse_body
from slack_sdk.signature import SignatureVerifier

from channels.context import new_reference_id

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# What Slack sends: a Unix time in ASCII digits and `v0=` + a hex HMAC. Anything else (Unicode digits such
# as "²" that str.isdigit() accepts but int() refuses, non-ASCII that hmac.compare_digest rejects) is 401.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


# The JSON types Bolt assumes for the envelope fields it reads before any listener runs; a signed body
# with, say, `"authorizations": false` would otherwise crash its parsing (500).
_OBJECTS = ("event", "view", "container", "message", "previous_message", "item", "assistant_thread", "state")
_LISTS_OF_OBJECTS = ("authorizations", "actions")
_IDS = ("team", "enterprise", "user", "channel")  # a plain id or an object with an "id"
_NESTED = ("event", "message", "previous_message", "item", "assistant_thread")


# Names Bolt's listener matchers compare (with a regular expression, for our catch-alls): a list crashes them.
_MATCHED = ("type", "command", "callback_id")


def _names_ok(payload: dict[str, Any]) -> bool:
    event, acts = payload.get("event"), payload.get("actions")
    names = [payload.get(k) for k in _MATCHED] + [event.get("type") if isinstance(event, dict) else None]
    names += [a.get("action_id") for a in acts if isinstance(a, dict)] if isinstance(acts, list) else []
    return all(n is None or isinstance(n, str) for n in names)


def _envelope_ok(payload: dict[str, Any], depth: int = 0) -> bool:
    if depth == 0 and any(k in payload and not isinstance(payload[k], dict) for k in ("event", "view")):
        return False  # Bolt reads these whenever the key is there (`"view" in body`): an explicit null crashes it
    if depth == 0 and not _names_ok(payload):
        return False
    for key in _OBJECTS:
        if payload.get(key) is not None and not isinstance(payload[key], dict):
            return False
    for key in _LISTS_OF_OBJECTS:
        value = payload.get(key)
        if value is not None and not (isinstance(value, list) and all(isinstance(v, dict) for v in value)):
            return False
    for key in _IDS:
        if payload.get(key) is not None and not isinstance(payload[key], str | dict):
            return False
    return depth > 2 or all(_envelope_ok(payload[k], depth + 1) for k in _NESTED if isinstance(payload.get(k), dict))


def well_formed(body: str, content_type: str) -> bool:
    """Whether Bolt can parse the body (parsed the way Bolt parses it): a JSON object, or a form whose
    `payload` (if any) is one, with envelope fields of the types Bolt assumes."""
    try:
        payload = parse_body(body, content_type)
    except (ValueError, RecursionError):  # RecursionError: JSON nested deeper than the parser goes
        return False
    return isinstance(payload, dict) and _envelope_ok(payload)


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
        if (
            not _TIMESTAMP.fullmatch(timestamp)
            or not _SIGNATURE.fullmatch(signature)
            or not verifier.is_valid(body=body, timestamp=timestamp, signature=signature)
        ):
            return web.Response(status=401, text="invalid request signature")
        if not well_formed(body, request.content_type):
            return web.Response(status=400, text="malformed body")
        try:
            response = await app.async_dispatch(await to_bolt_request(request))
        except (TypeError, AttributeError, KeyError, IndexError, ValueError) as exc:
            # Bolt parses the envelope before our code runs (our listeners only hand work off), so these
            # mean a field of an unexpected type the check above does not know: bad input, not our fault.
            log.warning("signed Slack request with a malformed payload refused (%s)", type(exc).__name__)
            return web.Response(status=400, text="malformed body")
        except Exception:
            reference = new_reference_id()
            log.exception("Slack dispatch failed (reference %s)", reference)
            return web.Response(status=500, text=f"internal error, reference {reference}")
        return await to_aiohttp_response(response)

    return events
