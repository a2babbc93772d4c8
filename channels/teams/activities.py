"""Bot Framework payloads → typed values: the posted activity (or a 4xx), conversation and dedup keys,
the user's words, where the conversation is and how to reach it again."""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from botbuilder.core import TurnContext
from botbuilder.schema import Activity

CHANNEL = "teams"
_AT_TAG = re.compile(r"<at\b[^>]*>(.*?)</at>", re.IGNORECASE | re.DOTALL)
MAX_ID = 200


def parse_body(raw: bytes, content_type: str) -> dict[str, Any]:
    """The posted activity as JSON, or a 4xx: wrong content type 415, unreadable or incomplete JSON 400."""
    if content_type != "application/json":
        raise _http_error(web.HTTPUnsupportedMediaType, "expected application/json")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested deeper than the parser goes
        raise _http_error(web.HTTPBadRequest, "body is not JSON") from None
    if not isinstance(body, dict):
        raise _http_error(web.HTTPBadRequest, "expected an activity object")
    missing = [name for name in ("type", "serviceUrl") if not isinstance(body.get(name), str) or not body[name]]
    for holder in ("conversation", "from", "recipient"):
        part = body.get(holder)
        if not isinstance(part, dict) or not isinstance(part.get("id"), str) or not part["id"]:
            missing.append(f"{holder}.id")
    if missing:
        raise _http_error(web.HTTPBadRequest, "missing or invalid: " + ", ".join(missing))
    try:
        service = urlsplit(body["serviceUrl"])
        valid_url = service.scheme in ("http", "https") and bool(service.hostname)
    except ValueError:
        valid_url = False
    if not valid_url:
        raise _http_error(web.HTTPBadRequest, "serviceUrl must be an http(s) URL")
    return body


def to_activity(body: dict[str, Any]) -> Activity:
    """A checked body (`parse_body`) as botbuilder's `Activity`, or 400."""
    try:
        activity = Activity().deserialize(body)
    except Exception:  # msrest raises several types for ill-typed fields
        raise _http_error(web.HTTPBadRequest, "malformed activity") from None
    if not isinstance(activity, Activity):
        raise _http_error(web.HTTPBadRequest, "malformed activity")
    return activity


def is_loopback(url: str | None) -> bool:
    host = urlsplit(url or "").hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def conversation_key(activity: Activity) -> str:
    return f"{CHANNEL}:{activity.conversation.id}"


def activity_key(activity: Activity) -> str:
    """What identifies one delivery: message ids are unique only within a conversation."""
    return f"{CHANNEL}:{activity.conversation.id}:{activity.id}"


def is_shared(activity: Activity) -> bool:
    """A channel or group chat (anything but a one-to-one chat with the bot)."""
    conversation = activity.conversation
    kind = (conversation.conversation_type if conversation else None) or "personal"
    return kind != "personal"


def tenant_of(activity: Activity) -> str | None:
    """The Azure AD tenant of the conversation (Teams sends it in `channelData.tenant`)."""
    conversation = activity.conversation
    if conversation is not None and conversation.tenant_id:
        return str(conversation.tenant_id)
    if isinstance(activity.channel_data, dict):
        tenant = activity.channel_data.get("tenant")
        if isinstance(tenant, dict) and tenant.get("id"):
            return str(tenant["id"])
    return None


def reference_of(activity: Activity) -> dict[str, Any]:
    """How to reach this conversation later (JSON), with the tenant a private chat needs."""
    reference = TurnContext.get_conversation_reference(activity)
    if reference.conversation is not None:
        reference.conversation.tenant_id = tenant_of(activity)
    data: dict[str, Any] = reference.serialize()
    return data


def message_text(activity: Activity) -> str:
    """The user's words without the bot's @mention; other people's mentions keep their names.

    (botbuilder's `remove_recipient_mention` also deletes the bot's name wherever else it appears in
    the text, so "<at>Deskhand</at> what can Deskhand do?" would lose a word.)"""
    text = activity.text or ""
    bot = activity.recipient
    for entity in activity.entities or []:
        extra = getattr(entity, "additional_properties", None) or {}
        mentioned = extra.get("mentioned") if entity.type == "mention" else None
        tag = extra.get("text")
        if isinstance(mentioned, dict) and bot is not None and mentioned.get("id") == bot.id and tag:
            text = text.replace(str(tag), " ")
    if bot is not None and bot.name:  # a client that sent no mention entity
        text = re.sub(rf"<at\b[^>]*>\s*{re.escape(bot.name)}\s*</at>", " ", text, flags=re.IGNORECASE)
    text = _AT_TAG.sub(lambda m: m.group(1), text)
    return " ".join(text.split())


def identifier(value: object) -> str | None:
    """An id from a card's data, when it is a plausible one."""
    if isinstance(value, str) and 0 < len(value) <= MAX_ID:
        return value
    return None


def _http_error(kind: type[web.HTTPException], message: str) -> web.HTTPException:
    return kind(text=json.dumps({"error": message}), content_type="application/json")
