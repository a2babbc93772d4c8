"""Replies and approval views as Teams messages and Adaptive Cards, as plain data (JSON-able dicts).

Wording, times, source labels and approval status come from the shared presenter; this module decides
only the Teams layout. `channels.teams.courier` turns a message dict into a botbuilder `Activity`.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from channels.base import ApprovalView, Reply, SectionText, SourceRef
from channels.core import present, wording
from channels.teams import verbs

CARD_TYPE = "application/vnd.microsoft.card.adaptive"
MESSAGE_TYPE = "application/vnd.microsoft.activity.message"
ERROR_TYPE = "application/vnd.microsoft.error"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_VERSION = "1.5"  # Action.Execute needs 1.4+; older clients use each action's Action.Submit fallback
SECTION_CHARS = 12_000  # per message of a full section (Teams caps a message at about 28 KB)
LIST_LINE = re.compile(r"^(?:- |\d{1,3}\. )")
MAX_REFRESH_USERS = 60  # Teams refreshes user-specific views for at most 60 users

WELCOME = (
    "Hi, I'm Deskhand. Ask me about onboarding, HR policies, invoices and vendor payments, for example "
    "\u201cHow do I set up the VPN?\u201d or \u201cWhat is the status of INV-10042?\u201d. "
    "In a channel or group chat, @mention me."
)
WORKING = "Looking into it\u2026"  # the informative update of a slow answer in a one-to-one chat
HELP = "What can I help with? Ask me about onboarding, HR policies, invoices or vendor payments."
_COLOURS = {"good": "Good", "attention": "Attention", "warning": "Warning", "default": "Default"}

Message = dict[str, Any]
AI_ROUTES = ("answer",)  # composed from documents: labelled "AI generated"


def text_message(text: str) -> Message:
    return {"type": "message", "text": text, "textFormat": "markdown"}


def typing_message() -> Message:
    """The typing indicator (Teams shows it for a few seconds or until the next message)."""
    return {"type": "typing"}


def stream_update(text: str, kind: str, sequence: int, stream_id: str | None) -> Message:
    """An informative update or a text chunk of a streamed reply (`channels.teams.streaming`)."""
    info: dict[str, Any] = {"type": "streaminfo", "streamType": kind, "streamSequence": sequence}
    if stream_id:
        info["streamId"] = stream_id
    return {"type": "typing", "text": text, "entities": [info]}


def stream_final(message: Message, stream_id: str | None) -> Message:
    """`message` as the final piece of a stream (the plain message when the stream never started)."""
    if not stream_id:
        return message
    info = {"type": "streaminfo", "streamType": "final", "streamId": stream_id}
    return {**message, "entities": [*message.get("entities", ()), info]}


def answer_message(reply: Reply) -> Message:
    """The answer text with its `[n]` markers, Teams citation entities and the "AI generated" label, a card
    listing the sources (what older clients and the Emulator show), and Teams' feedback loop (thumbs on
    the message) plus card buttons for clients without it."""
    message = text_message(present.reply_text(reply))
    if reply.route in AI_ROUTES or reply.citations:
        message["entities"] = [citation_entity(reply.citations)]
    if reply.audit_id and present.wants_feedback(reply):
        message["channelData"] = {"feedbackLoopEnabled": True}
    card = answer_card(reply)
    if card is not None:
        message["attachments"] = [{"contentType": CARD_TYPE, "content": card}]
    return message


def citation_entity(citations: tuple[SourceRef, ...]) -> dict[str, Any]:
    """Teams' AI-content message entity: the "AI generated" label, and citations (`[n]` in the text opens
    the n-th claim's appearance, linked to the source's URL when it has one)."""
    claims = []
    for ref in citations:
        appearance: dict[str, Any] = {
            "@type": "DigitalDocument",
            "name": ref.title[:80],
            "abstract": (ref.heading or ref.source)[:160],
            "keywords": [ref.heading[:28]] if ref.heading else [],
        }
        if ref.url:
            appearance["url"] = ref.url
        claims.append({"@type": "Claim", "position": ref.n, "appearance": appearance})
    entity: dict[str, Any] = {
        "type": "https://schema.org/Message",
        "@type": "Message",
        "@context": "https://schema.org",
        "@id": "",
        "additionalType": ["AIGeneratedContent"],
    }
    if claims:
        entity["citation"] = claims
    return entity


def source_label(ref: SourceRef) -> str:
    """`[n] Title — Heading`, linked when the source has a URL."""
    title = present.source_title(ref)
    return f"[{ref.n}] [{title}]({ref.url})" if ref.url else f"[{ref.n}] {title}"


def answer_card(reply: Reply) -> dict[str, Any] | None:
    body: list[dict[str, Any]] = []
    if reply.citations:
        body.append(_text(wording.SOURCES, weight="Bolder", size="Small"))
        body.extend(_text(source_label(ref), size="Small", spacing="None") for ref in reply.citations)
    actions = []
    if reply.audit_id and present.wants_feedback(reply):
        for helpful, title in ((True, wording.HELPFUL), (False, wording.NOT_HELPFUL)):
            actions.append(execute_action(title, verbs.FEEDBACK, {"audit_id": reply.audit_id, "helpful": helpful}))
    if reply.section:
        actions.append(execute_action(wording.SHOW_SECTION, verbs.SECTION, {"section": reply.section}))
    if not body and not actions:
        return None
    return _card(body, actions)


def section_messages(section: SectionText) -> list[Message]:
    """The full section of an answer as Markdown messages (its title, linked when it has a URL, then its
    text; paragraphs apart, list items kept together), split to stay well under Teams' message size."""
    if not section.found:
        return [text_message(section.text)]
    name = present.section_name(section)
    title = f"**[{name}]({section.url})**" if section.url else f"**{name}**"
    lines = [line.strip() for line in section.text.split("\n") if line.strip()]
    text = lines[0] if lines else ""
    for prev, line in itertools.pairwise(lines):
        together = LIST_LINE.match(prev) and LIST_LINE.match(line)
        text += ("\n" if together else "\n\n") + line
    parts = present.split_text(text, SECTION_CHARS) or [""]
    return [text_message(f"{title}\n\n{part}".strip()) for part in parts]


def local_time(at: datetime, date: bool = False) -> str:
    """A time in the viewer's own time zone: Adaptive Card DATE()/TIME() functions (strict RFC 3339)."""
    stamp = present.utc(at).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        f"{{{{DATE({stamp}, SHORT)}}}} {{{{TIME({stamp})}}}}" if present.dated(at, date) else f"{{{{TIME({stamp})}}}}"
    )


def approval_message(view: ApprovalView, approver_ids: Mapping[str, str] | None = None) -> Message:
    return {
        "type": "message",
        "summary": present.summary(view),
        "attachments": [{"contentType": CARD_TYPE, "content": approval_card(view, approver_ids)}],
    }


def approval_card(
    view: ApprovalView, approver_ids: Mapping[str, str] | None = None, notice: str | None = None
) -> dict[str, Any]:
    """The approval card. `approver_ids` maps approver e-mails to AAD object ids where known: they get a
    mention and an automatically refreshed view. That is display only; `decide` checks eligibility."""
    ids = dict(approver_ids or {})
    mentions = []
    for email in view.approvers:
        if email in ids:
            shown = present.display_name(email)
            mentions.append(
                {"type": "mention", "text": f"<at>{shown}</at>", "mentioned": {"id": ids[email], "name": shown}}
            )

    def name(email: str) -> str:
        shown = present.display_name(email)
        return f"<at>{shown}</at>" if email in ids and email in view.approvers else shown

    body: list[dict[str, Any]] = [
        _text(present.header(view), size="Small", isSubtle=True),
        _text(view.title, weight="Bolder", size="Medium", spacing="None"),
        {
            "type": "FactSet",
            "facts": [{"title": fact.label, "value": fact.value} for fact in present.facts(view, name, local_time)],
        },
        _text(present.status_line(view, clock=local_time), weight="Bolder", color=_COLOURS[present.tone(view)]),
    ]
    if notice:
        body.append(_text(notice, color="Warning", size="Small"))
    actions = []
    if view.open:
        data = {"approval_id": view.approval_id}
        actions = [
            execute_action(wording.APPROVE, verbs.APPROVE, data, style="positive"),
            execute_action(wording.REJECT, verbs.REJECT, data, style="destructive"),
            execute_action(wording.APPROVE_WITH_COMMENT, verbs.APPROVE_COMMENT, data),
        ]
    card = _card(body, actions)
    if mentions:
        card["msteams"]["entities"] = mentions
    if view.open and ids:
        card["refresh"] = {
            "action": {
                "type": "Action.Execute",
                "title": "Refresh",
                "verb": verbs.REFRESH,
                "data": {"approval_id": view.approval_id},
            },
            "userIds": list(ids.values())[:MAX_REFRESH_USERS],
        }
    return card


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


def execute_action(title: str, verb: str, data: dict[str, Any], style: str | None = None) -> dict[str, Any]:
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
