"""The Slack emulator's private surfaces: `chat.postEphemeral`, `views.publish` (the App Home tab) and the
`response_url` of slash commands, shortcuts and clicks, each recorded and checked against Slack's published
method arguments (https://api.slack.com/methods/chat.postEphemeral, /methods/views.publish)."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

EPHEMERAL_REQUIRED = frozenset({"channel", "user"})
EPHEMERAL_OPTIONAL = frozenset(
    {"text", "blocks", "attachments", "thread_ts", "as_user", "icon_emoji", "icon_url", "link_names", "parse"}
    | {"username", "markdown_text"}
)
PUBLISH_REQUIRED = frozenset({"user_id", "view"})
PUBLISH_OPTIONAL = frozenset({"hash"})
MESSAGE_BLOCKS_MAX = 50
VIEW_BLOCKS_MAX = 100
METHODS = ("chat.postEphemeral", "views.publish")
# What a response_url accepts (https://api.slack.com/interactivity/handling#message_responses)
RESPONSE_FIELDS = frozenset(
    {"text", "blocks", "attachments", "response_type", "replace_original", "delete_original", "thread_ts"}
    | {"mrkdwn", "metadata", "unfurl_links", "unfurl_media"}
)
RESPONSE_URL_USES = 5


def _error(error: str, detail: str = "") -> dict[str, Any]:
    return {"ok": False, "error": error, **({"detail": detail} if detail else {})}


def _arguments(p: dict[str, Any], required: frozenset[str], optional: frozenset[str]) -> dict[str, Any] | None:
    given = set(p) - {"token"}
    if missing := required - given:
        return _error("invalid_arguments", f"missing {sorted(missing)}")
    if unknown := given - required - optional:
        return _error("invalid_arguments", f"unknown {sorted(unknown)}")
    return None


def _blocks_ok(blocks: Any, limit: int) -> bool:
    if not isinstance(blocks, list) or len(blocks) > limit:
        return False
    return all(isinstance(b, dict) and b.get("type") for b in blocks)


class PrivateRecorder:
    """Ephemeral messages (`ephemeral`), published Home views (`homes`, latest per user in `home`) and
    `response_url` posts (`responses`). The bot is not a member of the channels in `outside` (Slack answers
    `channel_not_found`, as for a private channel) nor of those in `not_joined` (`not_in_channel`, as for a
    public one)."""

    def __init__(self) -> None:
        self.ephemeral: list[dict[str, Any]] = []
        self.homes: list[dict[str, Any]] = []
        self.home: dict[str, dict[str, Any]] = {}
        self.responses: list[dict[str, Any]] = []
        self.outside: set[str] = set()
        self.not_joined: set[str] = set()
        self.shown: dict[str, list[dict[str, Any]]] = {}  # per response_url: the messages the person sees
        self.url_uses: dict[str, int] = {}
        self.expired_urls: set[str] = set()

    def answer(self, method: str, p: dict[str, Any]) -> dict[str, Any]:
        if method == "chat.postEphemeral":
            if failure := _arguments(p, EPHEMERAL_REQUIRED, EPHEMERAL_OPTIONAL):
                return failure
            if not (p.get("text") or p.get("blocks")):
                return _error("no_text")
            if "blocks" in p and not _blocks_ok(p["blocks"], MESSAGE_BLOCKS_MAX):
                return _error("invalid_blocks", f"1-{MESSAGE_BLOCKS_MAX} block objects")
            if refused := self.refusal(str(p["channel"])):
                return refused
            message_ts = f"{len(self.ephemeral) + 1}.000001"
            self.ephemeral.append({**p, "message_ts": message_ts})
            return {"ok": True, "message_ts": message_ts}
        if failure := _arguments(p, PUBLISH_REQUIRED, PUBLISH_OPTIONAL):
            return failure
        view = json.loads(p["view"]) if isinstance(p["view"], str) else p["view"]
        if not isinstance(view, dict) or view.get("type") != "home":
            return _error("invalid_arguments", "view.type must be 'home'")
        if not _blocks_ok(view.get("blocks"), VIEW_BLOCKS_MAX):
            return _error("invalid_arguments", f"view.blocks: at most {VIEW_BLOCKS_MAX} block objects")
        ids = [b["block_id"] for b in view["blocks"] if "block_id" in b]
        if len(ids) != len(set(ids)):
            return _error("invalid_arguments", "view.blocks: block_id must be unique in a view")
        user = str(p["user_id"])
        if not user.startswith(("U", "W")):
            return _error("user_not_found")
        self.homes.append({"user_id": user, "view": view})
        self.home[user] = view
        return {"ok": True, "view": {**view, "id": f"VHOME{len(self.homes)}"}}

    def refusal(self, channel: str) -> dict[str, Any] | None:
        """Slack's error for a post to `channel` when the bot is not a member of it; None when it is."""
        if channel in self.outside:
            return _error("channel_not_found")
        if channel in self.not_joined:
            return _error("not_in_channel")
        return None

    async def respond(self, request: web.Request) -> web.Response:
        """POST /response/{id}: what Slack does with a response_url (a command's, or a click's on a message):
        an ephemeral message by default; `replace_original` replaces the message the URL last showed instead
        of adding one. A URL takes 5 posts within 30 minutes (`expire` ends one early)."""
        url = request.match_info["id"]
        try:
            body = await request.json()
        except ValueError:
            return web.Response(status=400, text="invalid_payload")
        if not isinstance(body, dict) or not (body.get("text") or body.get("blocks")):
            return web.Response(status=400, text="no_text")
        if unknown := set(body) - RESPONSE_FIELDS:
            return web.Response(status=400, text=f"invalid_payload: unknown {sorted(unknown)}")
        if "blocks" in body:
            ids = [b["block_id"] for b in body["blocks"] if isinstance(b, dict) and "block_id" in b]
            if not _blocks_ok(body["blocks"], MESSAGE_BLOCKS_MAX) or len(ids) != len(set(ids)):
                return web.Response(status=400, text="invalid_blocks")
        if url in self.expired_urls:
            return web.Response(status=404, text="expired_url")
        if self.url_uses.get(url, 0) >= RESPONSE_URL_USES:
            return web.Response(status=404, text="used_url")
        self.url_uses[url] = self.url_uses.get(url, 0) + 1
        self.responses.append({"id": url, **body})
        shown = self.shown.setdefault(url, [])
        if body.get("replace_original") is True and shown:
            shown[-1] = body
        else:
            shown.append(body)
        return web.Response(text="ok")

    def expire(self, url_id: str) -> None:
        """The response_url `url_id` has passed its 30 minutes."""
        self.expired_urls.add(url_id)
