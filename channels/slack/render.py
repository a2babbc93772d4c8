"""Block Kit rendering of replies and approval views, with plain-text fallbacks, within Slack's limits."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from channels.base import ApprovalView, Decision, Reply, SourceRef
from channels.slack import actions, messages

MAX_BLOCKS = 50
SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
HEADER_LIMIT = 150
TEXT_LIMIT = 40_000
CONTEXT_ELEMENTS = 10

Block = dict[str, Any]


@dataclass(frozen=True)
class Rendered:
    """One Slack message: the fallback `text` (notifications, old clients) and the `blocks`."""

    text: str
    blocks: list[Block] = field(default_factory=list)

    def as_kwargs(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks}


_BOLD = re.compile(r"\*\*(.+?)\*\*")
_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)\s]+)\)")


def escape(text: str) -> str:
    """Escape the three characters Slack treats as markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_mrkdwn(text: str) -> str:
    """Neutral Markdown-ish answer text to Slack mrkdwn (escaped; bold and links converted)."""
    out = _BOLD.sub(r"*\1*", escape(text))
    return _LINK.sub(r"<\2|\1>", out)


def truncate(text: str, limit: int, ellipsis: str = "…") -> str:
    if len(text) <= limit:
        return text
    return text[: limit - len(ellipsis)].rstrip() + ellipsis


def split_text(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Split text into chunks of at most `limit` characters, at paragraph, line or word breaks."""
    chunks: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[:limit]
        cut = max(window.rfind("\n\n"), -1)
        if cut < limit // 3:
            cut = window.rfind("\n")
        if cut < limit // 3:
            cut = window.rfind(" ")
        if cut < limit // 3:
            cut = limit
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        chunks.append(rest)
    return chunks


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, SECTION_LIMIT)}}


def _context(*texts: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(t, SECTION_LIMIT)} for t in texts]}


def _button(text: str, action_id: str, value: str, style: str | None = None) -> Block:
    button: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": text, "emoji": True},
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def source_label(ref: SourceRef) -> str:
    """`[n] Title — Heading`, linked when the source has a URL."""
    label = ref.title if not ref.heading or ref.heading == ref.title else f"{ref.title} — {ref.heading}"
    label = escape(truncate(label, 200)).replace("|", "¦")
    if ref.url:
        return f"[{ref.n}] <{ref.url}|{label}>"
    return f"[{ref.n}] {label}"


def _plain_source(ref: SourceRef) -> str:
    label = ref.title if not ref.heading or ref.heading == ref.title else f"{ref.title} — {ref.heading}"
    return f"[{ref.n}] {label}" + (f" ({ref.url})" if ref.url else "")


def citation_blocks(citations: tuple[SourceRef, ...]) -> list[Block]:
    """Sources as compact context blocks (at most ten elements each)."""
    if not citations:
        return []
    elements = [f"*{messages.SOURCES}:*", *(source_label(ref) for ref in citations)]
    return [_context(*elements[i : i + CONTEXT_ELEMENTS]) for i in range(0, len(elements), CONTEXT_ELEMENTS)]


def feedback_block(audit_id: str) -> Block:
    return {
        "type": "actions",
        "block_id": actions.FEEDBACK_BLOCK,
        "elements": [
            _button(messages.HELPFUL, actions.FEEDBACK_HELPFUL, audit_id),
            _button(messages.NOT_HELPFUL, actions.FEEDBACK_UNHELPFUL, audit_id),
        ],
    }


def render_text(text: str) -> Rendered:
    """A short plain message (progress, pointers, apologies)."""
    return Rendered(text=truncate(text, TEXT_LIMIT), blocks=[_section(to_mrkdwn(text))])


def render_reply(reply: Reply, *, feedback: bool = True) -> Rendered:
    """An answer: its text in as many sections as needed, the sources, and feedback buttons."""
    tail: list[Block] = citation_blocks(reply.citations)
    if feedback and reply.audit_id:
        tail.append(feedback_block(reply.audit_id))
    tail = tail[: MAX_BLOCKS - 2]
    sections = [_section(chunk) for chunk in split_text(to_mrkdwn(reply.text or messages.EMPTY_MESSAGE))]
    budget = MAX_BLOCKS - len(tail)
    if len(sections) > budget:
        sections = [*sections[: budget - 1], _context(messages.TRUNCATED)]
    fallback = reply.text
    if reply.citations:
        fallback += f"\n\n{messages.SOURCES}: " + "; ".join(_plain_source(c) for c in reply.citations)
    return Rendered(text=truncate(fallback, TEXT_LIMIT), blocks=[*sections, *tail])


def format_time(when: datetime, *, date: bool = False) -> str:
    utc = when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
    return utc.strftime("%Y-%m-%d %H:%M UTC" if date else "%H:%M UTC")


def mention(email: str, mentions: Mapping[str, str]) -> str:
    """`<@U…>` when the e-mail's Slack id is known, else the e-mail itself."""
    user_id = mentions.get(email.lower())
    return f"<@{user_id}>" if user_id else escape(email)


def stamp(view: ApprovalView, mentions: Mapping[str, str]) -> str | None:
    """The decision stamp of a closed approval ("Approved by @carol at 14:02 UTC"), None while open."""
    approvals = [d for d in view.decisions if d.approve]
    rejection = next((d for d in view.decisions if not d.approve), None)

    def who(decisions: list[Decision]) -> str:
        return ", ".join(mention(d.approver, mentions) for d in decisions) or "—"

    last = approvals[-1].at if approvals else view.expires_at
    if view.status == "approved":
        return messages.STAMP_APPROVED.format(who=who(approvals), when=format_time(last))
    if view.status == "executed":
        return messages.STAMP_EXECUTED.format(who=who(approvals), when=format_time(last))
    if view.status == "failed":
        return messages.STAMP_FAILED.format(who=who(approvals), when=format_time(last))
    if view.status == "rejected":
        rejected = [rejection] if rejection else []
        when = rejection.at if rejection else view.expires_at
        return messages.STAMP_REJECTED.format(who=who(rejected), when=format_time(when))
    if view.status == "expired":
        return messages.STAMP_EXPIRED.format(when=format_time(view.expires_at, date=True))
    if view.status == "cancelled":
        return messages.STAMP_CANCELLED
    return None


def render_approval(view: ApprovalView, mentions: Mapping[str, str]) -> Rendered:
    """The approval message: what, for whom, why, rule, expiry, approvers; buttons while open, else a stamp."""
    approvers = " ".join(mention(a, mentions) for a in view.approvers) or "—"
    fields = [
        messages.FIELD_FOR.format(who=mention(view.requester, mentions)),
        messages.FIELD_WHY.format(reason=escape(view.reason)),
        messages.FIELD_RULE.format(rule=escape(view.rule)),
        messages.FIELD_EXPIRES.format(when=format_time(view.expires_at, date=True)),
        messages.FIELD_APPROVERS.format(who=approvers),
    ]
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": truncate(messages.APPROVAL_HEADER, HEADER_LIMIT)}},
        _section(f"*{escape(view.title)}*"),
        {"type": "section", "fields": [{"type": "mrkdwn", "text": truncate(f, FIELD_LIMIT)} for f in fields]},
    ]
    notes: list[str] = []
    if view.mode == "four_eyes" or view.required > 1:
        notes.append(messages.FOUR_EYES.format(required=view.required))
    approvals = [d for d in view.decisions if d.approve]
    if view.open and approvals:
        names = ", ".join(mention(d.approver, mentions) for d in approvals)
        notes.append(messages.PROGRESS.format(who=names, count=len(approvals), required=view.required))
    if notes:
        blocks.append(_context(*notes))
    closed = stamp(view, mentions)
    if closed is None:
        blocks.append(
            {
                "type": "actions",
                "block_id": actions.APPROVAL_BUTTONS_BLOCK,
                "elements": [
                    _button(messages.APPROVE, actions.APPROVE, view.approval_id, "primary"),
                    # Reject opens a form for the reason (channels/slack/reasons.py): no confirm dialog needed.
                    _button(messages.REJECT, actions.REJECT, view.approval_id, "danger"),
                    _button(messages.APPROVE_WITH_COMMENT, actions.APPROVE_WITH_COMMENT, view.approval_id),
                ],
            }
        )
    else:
        blocks.append(_section(closed))
    fallback = messages.APPROVAL_FALLBACK.format(
        title=escape(view.title), requester=mention(view.requester, mentions), approvers=approvers
    )
    if closed:
        fallback += f" {closed}"
    return Rendered(text=truncate(fallback, TEXT_LIMIT), blocks=blocks)
