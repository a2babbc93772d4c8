"""The Slack emulator's private surfaces: `chat.postEphemeral`, `views.publish` (the App Home tab) and the
`response_url` of slash commands and shortcuts, each recorded and checked against Slack's published
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
    `response_url` posts (`responses`); `outside` lists channels the bot is not a member of."""

    def __init__(self) -> None:
        self.ephemeral: list[dict[str, Any]] = []
        self.homes: list[dict[str, Any]] = []
        self.home: dict[str, dict[str, Any]] = {}
        self.responses: list[dict[str, Any]] = []
        self.outside: set[str] = set()

    def answer(self, method: str, p: dict[str, Any]) -> dict[str, Any]:
        if method == "chat.postEphemeral":
            if failure := _arguments(p, EPHEMERAL_REQUIRED, EPHEMERAL_OPTIONAL):
                return failure
            if not (p.get("text") or p.get("blocks")):
                return _error("no_text")
            if "blocks" in p and not _blocks_ok(p["blocks"], MESSAGE_BLOCKS_MAX):
                return _error("invalid_blocks", f"1-{MESSAGE_BLOCKS_MAX} block objects")
            if p["channel"] in self.outside:
                return _error("channel_not_found")
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

    async def respond(self, request: web.Request) -> web.Response:
        """POST /response/{id}: what Slack does with a command's response_url (ephemeral by default)."""
        try:
            body = await request.json()
        except ValueError:
            return web.Response(status=400, text="invalid_payload")
        if not isinstance(body, dict) or not (body.get("text") or body.get("blocks")):
            return web.Response(status=400, text="no_text")
        self.responses.append({"id": request.match_info["id"], **body})
        return web.Response(text="ok")
