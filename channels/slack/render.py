"""Block Kit rendering of replies and approval views, with plain-text fallbacks, within Slack's limits."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from channels.base import ApprovalView, Reply, SectionText, SourceRef
from channels.core import present, wording
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
    return present.split_text(text, limit)


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
    label = escape(truncate(present.source_title(ref), 200)).replace("|", "¦")
    if ref.url:
        return f"[{ref.n}] <{ref.url}|{label}>"
    return f"[{ref.n}] {label}"


def citation_blocks(citations: tuple[SourceRef, ...]) -> list[Block]:
    """Sources as compact context blocks (at most ten elements each)."""
    if not citations:
        return []
    elements = [f"*{wording.SOURCES}:*", *(source_label(ref) for ref in citations)]
    return [_context(*elements[i : i + CONTEXT_ELEMENTS]) for i in range(0, len(elements), CONTEXT_ELEMENTS)]


def feedback_block(audit_id: str) -> Block:
    """Slack's native 👍/👎 (`feedback_buttons` in a `context_actions` block) for one answer."""

    def side(text: str, verdict: str) -> Block:
        return {"text": {"type": "plain_text", "text": text}, "value": f"{verdict}:{audit_id}"}

    return {
        "type": "context_actions",
        "block_id": actions.FEEDBACK_BLOCK,
        "elements": [
            {
                "type": "feedback_buttons",
                "action_id": actions.FEEDBACK,
                "positive_button": side(wording.HELPFUL, actions.HELPFUL_VALUE),
                "negative_button": side(wording.NOT_HELPFUL, actions.UNHELPFUL_VALUE),
            }
        ],
    }


def get_human_block(audit_id: str | None, section: str | None = None) -> Block:
    """The answer's buttons: "Show full section" (a shortened answer: posts the whole section privately) and
    "Get a human" (hands the answer's question over to the team that owns it)."""
    elements = [_button(messages.GET_HUMAN, actions.GET_HUMAN, audit_id)] if audit_id else []
    if section:
        elements.append(_button(wording.SHOW_SECTION, actions.SHOW_SECTION, section))
    return {"type": "actions", "block_id": actions.GET_HUMAN_BLOCK, "elements": elements}


def render_section(section: SectionText) -> list[Rendered]:
    """The full section of an answer as mrkdwn messages within Slack's limits: its title (linked when it has
    a URL), then its text in sections, as many messages as the block limit needs."""
    if not section.found:
        return [render_text(section.text)]
    name = present.section_name(section)
    title = f"*<{section.url}|{escape(name)}>*" if section.url else f"*{escape(name)}*"
    parts = [_section(part) for part in split_text(to_mrkdwn(section.text))]
    pages = [parts[i : i + MAX_BLOCKS - 1] for i in range(0, len(parts), MAX_BLOCKS - 1)] or [[]]
    out = []
    for n, page in enumerate(pages):
        head = _context(title if n == 0 else f"{title} {messages.SECTION_CONTINUED}")
        fallback = name + "\n\n" + "\n".join(block["text"]["text"] for block in page)
        out.append(Rendered(text=truncate(fallback, TEXT_LIMIT), blocks=[head, *page]))
    return out


def render_text(text: str) -> Rendered:
    """A short plain message (progress, pointers, apologies)."""
    return Rendered(text=truncate(text, TEXT_LIMIT), blocks=[_section(to_mrkdwn(text))])


def reply_tail(reply: Reply, *, feedback: bool = True) -> list[Block]:
    """What goes under an answer's text: the sources, then the feedback buttons."""
    tail: list[Block] = citation_blocks(reply.citations)
    if feedback and reply.audit_id and present.wants_feedback(reply):
        tail += [feedback_block(reply.audit_id), get_human_block(reply.audit_id, reply.section)]
    elif feedback and reply.section:
        tail.append(get_human_block(None, reply.section))
    return tail[: MAX_BLOCKS - 2]


def render_reply(reply: Reply, *, feedback: bool = True) -> Rendered:
    """An answer: its text in as many sections as needed, the sources, and feedback buttons."""
    tail = reply_tail(reply, feedback=feedback)
    sections = [_section(chunk) for chunk in split_text(to_mrkdwn(present.reply_text(reply) or wording.EMPTY_ANSWER))]
    budget = MAX_BLOCKS - len(tail)
    if len(sections) > budget:
        sections = [*sections[: budget - 1], _context(messages.TRUNCATED)]
    fallback = present.reply_text(reply)
    if reply.citations:
        fallback += f"\n\n{wording.SOURCES}: " + "; ".join(present.plain_source(c) for c in reply.citations)
    return Rendered(text=truncate(fallback, TEXT_LIMIT), blocks=[*sections, *tail])


def format_time(when: datetime, date: bool = False) -> str:
    """A time in the viewer's own time zone (Slack's date token), with the shared UTC format as fallback."""
    token = "{date_short_pretty} at {time}" if present.dated(when, date) else "{time}"
    return f"<!date^{int(present.utc(when).timestamp())}^{token}|{present.format_time(when, date)}>"


def mention(email: str, mentions: Mapping[str, str]) -> str:
    """`<@U…>` when the e-mail's Slack id is known, else the e-mail itself."""
    user_id = mentions.get(email.lower())
    return f"<@{user_id}>" if user_id else escape(email)


ICONS = {"good": "✅", "attention": "❌", "warning": "⌛", "default": "🚫"}  # Slack has no colours


def stamp(view: ApprovalView, mentions: Mapping[str, str]) -> str:
    """Where the approval stands ("✅ Approved by @carol at 14:02 UTC"); an icon once it is closed."""
    line = present.status_line(view, lambda email: mention(email, mentions), format_time)
    if view.open:
        return line
    icon = "⚠️" if view.status == "failed" else ICONS[present.tone(view)]
    return f"{icon} {line}"


def render_approval(view: ApprovalView, mentions: Mapping[str, str]) -> Rendered:
    """The approval message: what, for whom, why, rule, expiry, approvers; buttons while open, and where
    it stands."""

    def name(email: str) -> str:
        return mention(email, mentions)

    fields = [f"*{fact.label}*\n{_fact_value(fact)}" for fact in present.facts(view, name, format_time)]
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": truncate(present.header(view), HEADER_LIMIT)}},
        _section(f"*{escape(view.title)}*"),
        {"type": "section", "fields": [{"type": "mrkdwn", "text": truncate(f, FIELD_LIMIT)} for f in fields]},
    ]
    status = stamp(view, mentions)
    if view.open:
        blocks.append(_context(status))
        blocks.append(
            {
                "type": "actions",
                "block_id": actions.APPROVAL_BUTTONS_BLOCK,
                "elements": [
                    _button(wording.APPROVE, actions.APPROVE, view.approval_id, "primary"),
                    # Reject opens a form for the reason (channels/slack/reasons.py): no confirm dialog needed.
                    _button(wording.REJECT, actions.REJECT, view.approval_id, "danger"),
                    _button(wording.APPROVE_WITH_COMMENT, actions.APPROVE_WITH_COMMENT, view.approval_id),
                ],
            }
        )
    else:
        blocks.append(_section(status))
    fallback = present.summary(view, name, format_time)
    return Rendered(text=truncate(fallback, TEXT_LIMIT), blocks=blocks)


def _fact_value(fact: present.Fact) -> str:
    if fact.kind == "code":
        return f"`{escape(fact.value)}`"
    return fact.value if fact.kind in ("people", "time") else escape(fact.value)
