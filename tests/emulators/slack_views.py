"""The Slack emulator's `views.open`: records each modal and checks its arguments the way Slack documents
them (https://api.slack.com/methods/views.open, the modal view object and the input block limits)."""

from __future__ import annotations

import json
import uuid
from typing import Any

TITLE_MAX = 24  # title, submit and close: plain_text, at most 24 characters
CALLBACK_MAX = 255
METADATA_MAX = 3000
BLOCKS_MAX = 100
LABEL_MAX = 2000
INPUT_MAX = 3000
INPUT_ELEMENTS = {"plain_text_input", "static_select", "users_select", "datepicker", "checkboxes", "radio_buttons"}


def _plain(obj: Any, name: str, limit: int) -> list[str]:
    if not isinstance(obj, dict) or obj.get("type") != "plain_text" or not isinstance(obj.get("text"), str):
        return [f"[ERROR] {name} must be a plain_text object"]
    if not obj["text"] or len(obj["text"]) > limit:
        return [f"[ERROR] {name} must be 1-{limit} characters [json-pointer:/view/{name}/text]"]
    return []


def _input_block(block: dict[str, Any], n: int) -> list[str]:
    problems = _plain(block.get("label"), f"blocks/{n}/label", LABEL_MAX)
    element = block.get("element")
    if not isinstance(element, dict) or element.get("type") not in INPUT_ELEMENTS:
        return [*problems, f"[ERROR] blocks/{n}/element must be an input element"]
    if not isinstance(element.get("action_id"), str) or not element["action_id"]:
        problems.append(f"[ERROR] blocks/{n}/element needs an action_id")
    if element["type"] == "plain_text_input":
        top = element.get("max_length", INPUT_MAX)
        if not isinstance(top, int) or not 1 <= top <= INPUT_MAX:
            problems.append(f"[ERROR] blocks/{n}/element/max_length must be 1-{INPUT_MAX}")
    return problems


def modal_problems(view: Any) -> list[str]:
    """What Slack would refuse in a modal view object (empty when it is valid)."""
    if not isinstance(view, dict):
        return ["[ERROR] view must be a JSON object"]
    problems: list[str] = []
    if view.get("type") != "modal":
        problems.append("[ERROR] view.type must be 'modal'")
    problems += _plain(view.get("title"), "title", TITLE_MAX)
    blocks = view.get("blocks")
    if not isinstance(blocks, list) or not 1 <= len(blocks) <= BLOCKS_MAX:
        return [*problems, f"[ERROR] view.blocks must hold 1-{BLOCKS_MAX} blocks"]
    has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
    for key in ("submit", "close"):
        if key in view:
            problems += _plain(view[key], key, TITLE_MAX)
    if has_input and "submit" not in view:
        problems.append("[ERROR] a view with input blocks needs a submit button")
    if len(str(view.get("callback_id", ""))) > CALLBACK_MAX:
        problems.append(f"[ERROR] callback_id is longer than {CALLBACK_MAX}")
    if len(str(view.get("private_metadata", ""))) > METADATA_MAX:
        problems.append(f"[ERROR] private_metadata is longer than {METADATA_MAX}")
    for n, block in enumerate(blocks):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            problems.append(f"[ERROR] blocks/{n} must be a block object")
        elif block["type"] == "input":
            problems += _input_block(block, n)
    return problems


class ViewsRecorder:
    """`views.open` calls: each accepted modal with its trigger; triggers can be made to expire."""

    def __init__(self) -> None:
        self.opened: list[dict[str, Any]] = []  # {"trigger_id", "view" (with id and hash)}
        self.expired: set[str] = set()

    def answer(self, params: dict[str, Any]) -> dict[str, Any]:
        trigger = params.get("trigger_id")
        view = params.get("view")
        if isinstance(view, str):
            try:
                view = json.loads(view)
            except ValueError:
                return {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": ["bad view"]}}
        if not isinstance(trigger, str) or not trigger:
            return {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": ["no trigger_id"]}}
        if trigger in self.expired:
            return {"ok": False, "error": "expired_trigger_id"}
        problems = modal_problems(view)
        if problems or not isinstance(view, dict):  # not a dict: modal_problems named it
            return {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": problems}}
        shown = {**view, "id": f"V{uuid.uuid4().hex[:10].upper()}", "hash": uuid.uuid4().hex[:16]}
        self.opened.append({"trigger_id": trigger, "view": shown})
        return {"ok": True, "view": shown}
