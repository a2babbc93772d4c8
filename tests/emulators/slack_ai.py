"""The Slack emulator's AI-app methods: assistant threads and streamed messages, with their arguments checked
against Slack's published method arguments (unknown or missing ones answer `invalid_arguments`, as Slack does)."""

from __future__ import annotations

import json
from typing import Any, Protocol

# method → (required arguments, optional arguments), from Slack's method reference pages.
ARGUMENTS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "assistant.threads.setStatus": (
        frozenset({"channel_id", "thread_ts", "status"}),
        frozenset({"loading_messages", "icon_emoji", "icon_url", "username"}),
    ),
    "assistant.threads.setSuggestedPrompts": (
        frozenset({"channel_id", "prompts"}),
        frozenset({"thread_ts", "title"}),
    ),
    "assistant.threads.setTitle": (frozenset({"channel_id", "thread_ts", "title"}), frozenset()),
    "chat.startStream": (
        frozenset({"channel"}),
        frozenset(
            {
                "thread_ts",
                "markdown_text",
                "chunks",
                "recipient_user_id",
                "recipient_team_id",
                "task_display_mode",
                "icon_emoji",
                "icon_url",
                "username",
            }
        ),
    ),
    "chat.appendStream": (frozenset({"channel", "ts"}), frozenset({"markdown_text", "chunks"})),
    "chat.stopStream": (
        frozenset({"channel", "ts"}),
        frozenset({"markdown_text", "blocks", "metadata", "chunks", "session_status"}),
    ),
}
STREAM_METHODS = ("chat.startStream", "chat.appendStream", "chat.stopStream")
MARKDOWN_LIMIT = 12_000
MAX_PROMPTS = 4


class Emulator(Protocol):
    messages: dict[tuple[str, str], dict[str, Any]]
    streaming_error: str | None

    def _next_ts(self) -> str: ...


def _error(error: str, detail: str = "") -> dict[str, Any]:
    return {"ok": False, "error": error, **({"detail": detail} if detail else {})}


def check_arguments(method: str, p: dict[str, Any]) -> dict[str, Any] | None:
    """Slack's error for arguments the method does not take or lacks, else None."""
    required, optional = ARGUMENTS[method]
    given = set(p) - {"token"}
    if missing := required - given:
        return _error("invalid_arguments", f"missing {sorted(missing)}")
    if unknown := given - required - optional:
        return _error("invalid_arguments", f"unknown {sorted(unknown)}")
    if len(str(p.get("markdown_text") or "")) > MARKDOWN_LIMIT:
        return _error("msg_too_long")
    return None


def check_blocks(blocks: Any) -> str | None:
    """What is wrong with a `context_actions` block (Slack's Block Kit reference), or None."""
    for block in blocks if isinstance(blocks, list) else []:
        if not isinstance(block, dict) or block.get("type") != "context_actions":
            continue
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= 5:
            return "context_actions needs 1 to 5 elements"
        for element in elements:
            kind = element.get("type") if isinstance(element, dict) else None
            if kind == "feedback_buttons":
                for side in ("positive_button", "negative_button"):
                    button = element.get(side)
                    if not (
                        isinstance(button, dict)
                        and isinstance(button.get("value"), str)
                        and isinstance(button.get("text"), dict)
                        and button["text"].get("type") == "plain_text"
                    ):
                        return f"feedback_buttons.{side} needs plain_text text and a value"
            elif kind == "icon_button":
                if not (element.get("icon") and isinstance(element.get("text"), dict)):
                    return "icon_button needs icon and text"
            else:
                return f"context_actions cannot hold {kind!r}"
    return None


def answer(emu: Emulator, method: str, p: dict[str, Any]) -> dict[str, Any] | None:
    """The answer to an AI-app method, Slack's error for a malformed `context_actions` block in a post or
    update, or None (answer it as usual)."""
    if method in ("chat.postMessage", "chat.update") and (problem := check_blocks(p.get("blocks"))):
        return _error("invalid_blocks", problem)
    if method not in ARGUMENTS:
        return None
    if isinstance(p.get("chunks"), str):
        p["chunks"] = json.loads(p["chunks"])
    if method in STREAM_METHODS and emu.streaming_error:
        return _error(emu.streaming_error)
    if failure := check_arguments(method, p):
        return failure
    if method == "assistant.threads.setSuggestedPrompts":
        prompts = p["prompts"]
        ok = isinstance(prompts, list) and 1 <= len(prompts) <= MAX_PROMPTS
        if not ok or not all(isinstance(x, dict) and x.get("title") and x.get("message") for x in prompts):
            return _error("invalid_arguments", "prompts: 1 to 4 objects with title and message")
    if method.startswith("assistant."):
        return {"ok": True}
    channel = str(p["channel"])
    if method == "chat.startStream":
        if not channel.startswith("D") and not (p.get("recipient_user_id") and p.get("recipient_team_id")):
            return _error("invalid_arguments", "recipient_user_id and recipient_team_id are required in channels")
        ts = emu._next_ts()
        message: dict[str, Any] = {
            "ts": ts,
            "text": str(p.get("markdown_text") or ""),
            "blocks": [],
            "thread_ts": p.get("thread_ts") or ts,
            "user": "U_DESKHAND",
            "bot_id": "B_DESKHAND",
            "updates": 0,
            "streaming": True,
        }
        emu.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts}
    found = emu.messages.get((channel, str(p["ts"])))
    if found is None:
        return _error("message_not_found")
    if not found.get("streaming"):
        return _error("message_not_in_streaming_state")
    found["text"] += str(p.get("markdown_text") or "")
    if method == "chat.stopStream":
        if problem := check_blocks(p.get("blocks")):
            return _error("invalid_blocks", problem)
        found.update(streaming=False, blocks=p.get("blocks") or [], updates=found["updates"] + 1)
    return {"ok": True, "channel": channel, "ts": found["ts"]}
