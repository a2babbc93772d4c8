"""The reason form in Teams: Reject (and "Approve with comment") answers with an Adaptive Card holding an
`Input.Text`; its Action.Execute (Action.Submit on older clients) brings the typed words back in the
action's data (`reason`), and only then is the decision made.

The form collects text only. It is shown only to someone who may decide now (the turn handler's
`may_decide`, asked by channels/teams/handler.py first); who may decide is judged again when it is submitted.
"""

from __future__ import annotations

from typing import Any

from channels.base import ApprovalView
from channels.teams import render, verbs

VERB_COMMENT = verbs.APPROVE_COMMENT  # opens the form with an optional comment, then approves
FIELD = "reason"  # the Input.Text id: Teams merges its value into the action's data under this key
FORM = "form"  # marks data sent from the form itself
MAX_CHARS = 2000

REJECT_INTRO = "Rejecting this request: nothing will run. The requester sees your reason with the outcome."
APPROVE_INTRO = "Approving this request. The requester sees your comment with the outcome."
REJECT_LABEL = "Why are you rejecting it?"
APPROVE_LABEL = "Comment (optional)"
REASON_NEEDED = "Please say why: the requester is told your reason."


def wants_form(verb: str, data: dict[str, Any]) -> bool:
    """Reject and Approve-with-comment clicks on the approval card (not yet the form's own submission)."""
    return verb == VERB_COMMENT or (verb == verbs.REJECT and not data.get(FORM))


def reason_of(data: dict[str, Any]) -> str:
    value = data.get(FIELD)
    return value.strip()[:MAX_CHARS] if isinstance(value, str) else ""


def missing_reason(verb: str, data: dict[str, Any]) -> bool:
    """A submitted rejection form without a reason (a client that skipped `isRequired`)."""
    return verb == verbs.REJECT and bool(data.get(FORM)) and not reason_of(data)


def form_message(card: dict[str, Any]) -> render.Message:
    """The form as a message (for clients without Universal Actions, whose click arrives as a message)."""
    return {
        "type": "message",
        "summary": "Reason form",
        "attachments": [{"contentType": render.CARD_TYPE, "content": card}],
    }


def reason_card(
    approval_id: str, view: ApprovalView | None, *, approve: bool, notice: str | None = None
) -> dict[str, Any]:
    """The form: what is being decided, one text input (required for a rejection), submit and back."""
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": "Approve" if approve else "Reject", "size": "Small", "isSubtle": True},
        {
            "type": "TextBlock",
            "text": view.title if view is not None else f"Approval request {approval_id}",
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
        },
        {"type": "TextBlock", "text": APPROVE_INTRO if approve else REJECT_INTRO, "wrap": True},
        {
            "type": "Input.Text",
            "id": FIELD,
            "label": APPROVE_LABEL if approve else REJECT_LABEL,
            "isMultiline": True,
            "maxLength": MAX_CHARS,
            "isRequired": not approve,
            "errorMessage": REASON_NEEDED,
        },
    ]
    if notice:
        body.append({"type": "TextBlock", "text": notice, "color": "Warning", "size": "Small", "wrap": True})
    data = {"approval_id": approval_id, FORM: True}
    verb = verbs.APPROVE if approve else verbs.REJECT
    title, style = ("Approve", "positive") if approve else ("Reject", "destructive")
    submit = render.execute_action(title, verb, data, style)
    back = render.execute_action("Back", verbs.REFRESH, {"approval_id": approval_id}, None)
    back["associatedInputs"] = "none"  # going back needs no reason
    return {
        "type": "AdaptiveCard",
        "$schema": render.CARD_SCHEMA,
        "version": render.CARD_VERSION,
        "body": body,
        "actions": [submit, back],
        "msteams": {"width": "Full"},
    }
