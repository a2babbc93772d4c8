"""The reason form: Reject (and "Approve with comment") opens a modal (`views.open` with the click's
`trigger_id`); its `view_submission` carries the decision with the approver's words.

The modal only collects text. It opens only for someone who may decide now (the turn handler's
`may_decide`, asked by channels/slack/turns.py before `views.open`); who may decide is judged again when the
form is submitted, and the clicker alone hears a refusal (ephemeral, in the conversation of the card).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from channels.base import TurnHandler
from channels.slack import actions
from channels.slack.render import render_text
from channels.slack.webapi import SlackApi, WebApiError

log = logging.getLogger(__name__)

VIEW = "deskhand_reason"  # the modal's callback_id
BLOCK = "deskhand_reason_block"
INPUT = "deskhand_reason_input"
MAX_CHARS = 2000

REJECT_TITLE = "Reject request"
APPROVE_TITLE = "Approve request"
REJECT_INTRO = "Rejecting approval request `{id}`: nothing will run. The requester sees your reason with the outcome."
APPROVE_INTRO = "Approving approval request `{id}`. The requester sees your comment with the outcome."
REJECT_LABEL = "Why are you rejecting it?"
APPROVE_LABEL = "Comment (optional)"
REJECT_PLACEHOLDER = "e.g. The vendor dispute was settled; no hold is needed."
REASON_NEEDED = "Please say why: the requester is told your reason."
FORM_FAILED = "I couldn't open the form (Slack allows 3 seconds). Please click the button again."


@dataclass(frozen=True)
class Submission:
    """A submitted reason form."""

    user: str
    approval_id: str
    approve: bool
    reason: str
    channel: str  # the conversation of the card, for a private refusal
    thread_ts: str | None
    view_id: str


def opens_form(action_id: str) -> bool:
    return action_id in (actions.REJECT, actions.APPROVE_WITH_COMMENT)


def modal(action_id: str, approval_id: str, channel: str, thread_ts: str | None) -> dict[str, Any]:
    """The Block Kit modal for a Reject (reason required) or Approve-with-comment (optional) click."""
    approve = action_id == actions.APPROVE_WITH_COMMENT
    meta = {"approval_id": approval_id, "approve": approve, "channel": channel, "thread_ts": thread_ts}
    return {
        "type": "modal",
        "callback_id": VIEW,
        "private_metadata": json.dumps(meta, separators=(",", ":")),
        "title": {"type": "plain_text", "text": APPROVE_TITLE if approve else REJECT_TITLE},
        "submit": {"type": "plain_text", "text": "Approve" if approve else "Reject"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": (APPROVE_INTRO if approve else REJECT_INTRO).format(id=approval_id)},
            },
            {
                "type": "input",
                "block_id": BLOCK,
                "optional": approve,
                "label": {"type": "plain_text", "text": APPROVE_LABEL if approve else REJECT_LABEL},
                "element": {
                    "type": "plain_text_input",
                    "action_id": INPUT,
                    "multiline": True,
                    "max_length": MAX_CHARS,
                    "placeholder": {"type": "plain_text", "text": REJECT_PLACEHOLDER},
                },
            },
        ],
    }


def _part(body: dict[str, Any], name: str) -> dict[str, Any]:
    value = body.get(name)
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def parse_submission(body: dict[str, Any]) -> Submission | None:
    """A `view_submission` of our form, or None for anything else or a malformed one."""
    view, user = _part(body, "view"), _part(body, "user")
    if body.get("type") != "view_submission" or view.get("callback_id") != VIEW:
        return None
    try:
        meta = json.loads(str(view.get("private_metadata") or ""))
    except ValueError:
        return None
    field = _part(_part(_part(_part(view, "state"), "values"), BLOCK), INPUT)
    reason = str(field["value"]) if isinstance(field.get("value"), str) else ""
    if not isinstance(meta, dict):
        return None
    approval_id, channel, user_id = _text(meta.get("approval_id")), _text(meta.get("channel")), _text(user.get("id"))
    if not (approval_id and channel and user_id) or len(approval_id) > 64:
        return None
    return Submission(
        user=user_id,
        approval_id=approval_id,
        approve=meta.get("approve") is True,
        reason=reason.strip()[:MAX_CHARS],
        channel=channel,
        thread_ts=_text(meta.get("thread_ts")),
        view_id=str(view.get("id") or ""),
    )


def submission_key(body: dict[str, Any]) -> str | None:
    """What identifies one submission (the view and what was typed: a corrected resubmission is new)."""
    sub = parse_submission(body)
    if sub is None:
        return None
    typed = hashlib.sha256(f"{sub.approve}:{sub.reason}".encode()).hexdigest()[:16]
    return f"slack:view:{sub.view_id or sub.approval_id}:{sub.user}:{typed}"


def refusal(sub: Submission) -> dict[str, Any] | None:
    """The ack that keeps the form open with an error (a rejection without a reason), or None."""
    if sub.approve or sub.reason.strip():
        return None
    return {"response_action": "errors", "errors": {BLOCK: REASON_NEEDED}}


class ReasonForms:
    """Opens the form for a click and turns a submitted form into a decision (after the ack)."""

    def __init__(self, api: SlackApi, handler: TurnHandler, identity: Callable[[str], Awaitable[str | None]]) -> None:
        self._api = api
        self._handler = handler
        self._identity = identity

    async def open(
        self, action_id: str, approval_id: str, trigger_id: str, channel: str, thread_ts: str | None
    ) -> bool:
        """`views.open` with the click's trigger (valid for 3 s); False when Slack refused it."""
        try:
            await self._api.open_view(trigger_id, modal(action_id, approval_id, channel, thread_ts))
        except WebApiError as exc:
            log.warning("could not open the reason form for %s: %s", approval_id, exc)
            return False
        return True

    async def submit(self, sub: Submission) -> None:
        """Decide with the typed reason; a refusal goes to the submitter alone."""
        if not sub.approve and not sub.reason:
            return  # refused in the ack already (the form stayed open)
        approver = await self._identity(sub.user)
        outcome = await self._handler.decide(sub.approval_id, approver, sub.approve, sub.reason)
        if not outcome.accepted:
            await self.whisper(sub.channel, sub.user, sub.thread_ts, outcome.message)

    async def whisper(self, channel: str, user: str, thread_ts: str | None, text: str) -> None:
        try:
            await self._api.ephemeral(channel, user, render_text(text), thread_ts)
        except WebApiError as exc:
            log.warning("could not send an ephemeral message to %s: %s", user, exc)
