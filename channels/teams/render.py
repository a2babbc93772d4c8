"""Replies and approval views as Teams activities and Adaptive Cards, and every user-facing Teams string."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from botbuilder.schema import Activity, ActivityTypes, Attachment, Entity

from channels.base import ApprovalView, Decision, Reply, SourceRef

CARD_TYPE = "application/vnd.microsoft.card.adaptive"
MESSAGE_TYPE = "application/vnd.microsoft.activity.message"
ERROR_TYPE = "application/vnd.microsoft.error"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_VERSION = "1.5"  # Action.Execute needs 1.4+; older clients use each action's Action.Submit fallback

VERB_APPROVE = "approve"
VERB_REJECT = "reject"  # opens the reason form (channels/teams/reasons.py); the form's submission decides
VERB_APPROVE_COMMENT = "approve_comment"  # opens the form with an optional comment
VERB_REFRESH = "refresh"
VERB_FEEDBACK = "feedback"
MAX_REFRESH_USERS = 60  # Teams refreshes user-specific views for at most 60 users
FEEDBACK_ROUTES = ("answer", "no_answer")  # knowledge answers; actions are audited, not rated

WELCOME = (
    "Hi, I'm Deskhand. Ask me about onboarding, HR policies, invoices and vendor payments, for example "
    "\u201cHow do I set up the VPN?\u201d or \u201cWhat is the status of INV-10042?\u201d. "
    "In a channel or group chat, @mention me."
)
HELP = "What can I help with? Ask me about onboarding, HR policies, invoices or vendor payments."
PRIVATE_POINTER = "I've sent you the answer in a private chat, because it contains personal or financial details."
BUSY = "I'm still working on your previous message. Please try again in a moment."
ALREADY_RECORDED = "Your response was already recorded."
FEEDBACK_THANKS = "Thanks, your feedback was recorded."
UNKNOWN_ACTION = "That button is no longer supported. Please ask again."


def apology(reference_id: str) -> str:
    return f"Sorry, something went wrong (ref {reference_id})."


def display_name(email: str) -> str:
    """ "carol.diaz@example.com" -> "Carol Diaz" (approvers are known by e-mail only)."""
    local = email.split("@", 1)[0]
    parts = [p for p in local.replace("_", ".").replace("-", ".").split(".") if p]
    return " ".join(p.capitalize() for p in parts) or email


def text_activity(text: str) -> Activity:
    return Activity(type=ActivityTypes.message, text=text, text_format="markdown")


def answer_activity(reply: Reply) -> Activity:
    """The answer text with its `[n]` markers, Teams citation entities, and a card listing the sources
    with feedback buttons (the card is what older clients and the Emulator show)."""
    activity = text_activity(_with_reference(reply))
    if reply.citations:
        activity.entities = [OpenEntity(citation_entity(reply.citations))]
    card = answer_card(reply)
    if card is not None:
        activity.attachments = [Attachment(content_type=CARD_TYPE, content=card)]
    return activity


class OpenEntity(Entity):  # type: ignore[misc]
    """An entity sent with all its fields (botbuilder's `Entity` model only knows `type`)."""

    _attribute_map: ClassVar[dict[str, dict[str, str]]] = {
        **Entity._attribute_map,
        "additional_properties": {"key": "", "type": "{object}"},
    }

    def __init__(self, data: dict[str, Any]) -> None:
        super().__init__(type=data["type"])
        self.additional_properties = {k: v for k, v in data.items() if k != "type"}


def _with_reference(reply: Reply) -> str:
    if reply.reference_id and reply.reference_id not in reply.text:
        return f"{reply.text} (ref {reply.reference_id})"
    return reply.text


def citation_entity(citations: tuple[SourceRef, ...]) -> dict[str, Any]:
    """Teams' AI-content citations: `[n]` in the text opens the n-th claim's appearance."""
    claims = []
    for ref in citations:
        appearance: dict[str, Any] = {
            "@type": "DigitalDocument",
            "name": ref.title[:80],
            "abstract": (ref.heading or ref.source)[:160],
        }
        if ref.url:
            appearance["url"] = ref.url
        claims.append({"@type": "Claim", "position": ref.n, "appearance": appearance})
    return {
        "type": "https://schema.org/Message",
        "@type": "Message",
        "@context": "https://schema.org",
        "@id": "",
        "additionalType": ["AIGeneratedContent"],
        "citation": claims,
    }


def answer_card(reply: Reply) -> dict[str, Any] | None:
    body: list[dict[str, Any]] = []
    if reply.citations:
        body.append(_text("Sources", weight="Bolder", size="Small"))
        for ref in reply.citations:
            title = f"[{ref.title}]({ref.url})" if ref.url else ref.title
            where = f" \u2014 {ref.heading}" if ref.heading else ""
            body.append(_text(f"[{ref.n}] {title}{where}", size="Small", spacing="None"))
    actions = []
    if reply.audit_id and reply.route in FEEDBACK_ROUTES:
        for helpful, title in ((True, "\U0001f44d Helpful"), (False, "\U0001f44e Not helpful")):
            actions.append(_execute(title, VERB_FEEDBACK, {"audit_id": reply.audit_id, "helpful": helpful}))
    if not body and not actions:
        return None
    return _card(body, actions)


def approval_activity(view: ApprovalView, approver_ids: Mapping[str, str] | None = None) -> Activity:
    card = approval_card(view, approver_ids)
    activity = Activity(
        type=ActivityTypes.message,
        summary=f"Approval: {view.title} \u2014 {status_line(view)}",
        attachments=[Attachment(content_type=CARD_TYPE, content=card)],
    )
    return activity


def approval_card(
    view: ApprovalView, approver_ids: Mapping[str, str] | None = None, notice: str | None = None
) -> dict[str, Any]:
    """The approval card. `approver_ids` maps approver e-mails to AAD object ids where known: they get a
    mention and an automatically refreshed view. That is display only; `decide` checks eligibility."""
    ids = dict(approver_ids or {})
    mentions = []
    names = []
    for email in view.approvers:
        name = display_name(email)
        if email in ids:
            names.append(f"<at>{name}</at>")
            mentions.append(
                {"type": "mention", "text": f"<at>{name}</at>", "mentioned": {"id": ids[email], "name": name}}
            )
        else:
            names.append(name)
    needs = "two different approvers" if view.mode == "four_eyes" else f"{view.required} approver"
    body: list[dict[str, Any]] = [
        _text("Approval request" if view.open else "Approval", size="Small", isSubtle=True),
        _text(view.title, weight="Bolder", size="Medium", spacing="None"),
        {
            "type": "FactSet",
            "facts": [
                {"title": "Requested by", "value": display_name(view.requester)},
                {"title": "Why", "value": view.reason},
                {"title": "Approvers", "value": ", ".join(names) or "\u2014"},
                {"title": "Needs", "value": needs},
                {"title": "Policy rule", "value": view.rule},
            ],
        },
        _text(status_line(view), weight="Bolder", color=_status_color(view)),
    ]
    if notice:
        body.append(_text(notice, color="Warning", size="Small"))
    actions = []
    if view.open:
        data = {"approval_id": view.approval_id}
        actions = [
            _execute("Approve", VERB_APPROVE, data, style="positive"),
            _execute("Reject…", VERB_REJECT, data, style="destructive"),
            _execute("Approve with comment…", VERB_APPROVE_COMMENT, data),
        ]
    card = _card(body, actions)
    if mentions:
        card["msteams"]["entities"] = mentions
    if view.open and ids:
        card["refresh"] = {
            "action": {
                "type": "Action.Execute",
                "title": "Refresh",
                "verb": VERB_REFRESH,
                "data": {"approval_id": view.approval_id},
            },
            "userIds": list(ids.values())[:MAX_REFRESH_USERS],
        }
    return card


def status_line(view: ApprovalView) -> str:
    """One line saying where the approval stands, e.g. "Approved by Carol Diaz at 14:02 UTC"."""
    approvals = [d for d in view.decisions if d.approve]
    if view.status == "rejected":
        rejection = next((d for d in reversed(view.decisions) if not d.approve), None)
        if rejection is None:
            return "Rejected"
        return f"Rejected by {display_name(rejection.approver)} at {_clock(rejection.at)}"
    if view.status == "expired":
        return f"Expired at {_clock(view.expires_at)} without a decision"
    if view.status == "cancelled":
        return "Cancelled"
    if view.status == "pending":
        if not approvals:
            return f"Waiting for a decision \u00b7 expires {_clock(view.expires_at, with_date=True)}"
        missing = max(view.required - len(approvals), 1)
        more = "1 more approval" if missing == 1 else f"{missing} more approvals"
        return f"{_approved_by(approvals)} \u00b7 {more} needed"
    line = _approved_by(approvals) if approvals else "Approved"
    if view.status == "executed":
        return f"{line} \u00b7 done"
    if view.status == "failed":
        return f"{line} \u00b7 the action failed"
    return line


def _approved_by(approvals: list[Decision]) -> str:
    names = [display_name(d.approver) for d in approvals]
    who = names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" and {names[-1]}"
    return f"Approved by {who} at {_clock(max(d.at for d in approvals))}"


def _clock(at: datetime, with_date: bool = False) -> str:
    at = at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)
    if with_date or at.date() != datetime.now(UTC).date():
        return at.strftime("%d %b %H:%M UTC").lstrip("0")
    return at.strftime("%H:%M UTC")


def _status_color(view: ApprovalView) -> str:
    if view.status in ("approved", "executed"):
        return "Good"
    if view.status in ("rejected", "failed"):
        return "Attention"
    return "Warning" if view.status == "expired" else "Default"


def card_response(card: dict[str, Any]) -> dict[str, Any]:
    """The body answering an `adaptiveCard/action` invoke: show this card to the clicker."""
    return {"statusCode": 200, "type": CARD_TYPE, "value": card}


def message_response(text: str) -> dict[str, Any]:
    """The body answering an `adaptiveCard/action` invoke with a short message; the card stays as it is."""
    return {"statusCode": 200, "type": MESSAGE_TYPE, "value": text}


def error_response(status: int, code: str, message: str) -> dict[str, Any]:
    return {"statusCode": status, "type": ERROR_TYPE, "value": {"code": code, "message": message}}


def _card(body: list[dict[str, Any]], actions: list[dict[str, Any]]) -> dict[str, Any]:
    card: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": CARD_SCHEMA,
        "version": CARD_VERSION,
        "body": body,
        "msteams": {"width": "Full"},
    }
    if actions:
        card["actions"] = actions
    return card


def _text(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def _execute(title: str, verb: str, data: dict[str, Any], style: str | None = None) -> dict[str, Any]:
    """An Universal Action with an `Action.Submit` fallback carrying the verb in its data."""
    action: dict[str, Any] = {
        "type": "Action.Execute",
        "title": title,
        "verb": verb,
        "data": data,
        "fallback": {"type": "Action.Submit", "title": title, "data": {"verb": verb, **data}},
    }
    if style:
        action["style"] = style
        action["fallback"]["style"] = style
    return action
