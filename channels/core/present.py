"""The presenter both channels share: what an approval, a source or a time reads as, and views as data.

Platform renderers (Block Kit, Adaptive Cards) decide layout only; they pass in how a person is named
(`Name`: a Slack mention, a Teams display name) and how a time is shown (`Clock`), and get back text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from channels.base import ApprovalView, Decision, Reply, SectionText, SourceRef
from channels.core import wording

Name = Callable[[str], str]  # e-mail -> how the channel shows that person
Clock = Callable[[datetime, bool], str]  # (moment, with the date) -> how the channel shows it
Tone = Literal["good", "attention", "warning", "default"]
FEEDBACK_ROUTES = ("answer", "no_answer")  # knowledge answers are rated; actions are audited, not rated


def display_name(email: str) -> str:
    """ "carol.diaz@example.com" -> "Carol Diaz" (approvers are known by e-mail only)."""
    local = email.split("@", 1)[0]
    parts = [p for p in local.replace("_", ".").replace("-", ".").split(".") if p]
    return " ".join(p.capitalize() for p in parts) or email


def utc(at: datetime) -> datetime:
    return at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)


def dated(at: datetime, date: bool = False) -> bool:
    """Whether a time is shown with its date: when asked for, or when it is not today."""
    return date or utc(at).date() != datetime.now(UTC).date()


def format_time(at: datetime, date: bool = False) -> str:
    """The plain time format (and the fallback of the viewer's-time-zone forms the channels show):
    "14:02 UTC" today, "2026-11-27 14:02 UTC" otherwise or when `date` is asked for."""
    return utc(at).strftime("%Y-%m-%d %H:%M UTC" if dated(at, date) else "%H:%M UTC")


def join_names(names: list[str]) -> str:
    """ "A", "A and B", "A, B and C"."""
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + f" and {names[-1]}"


# -- answers ------------------------------------------------------------------------------------


def source_title(ref: SourceRef) -> str:
    """ "Title — Heading" (the heading left out when empty or the same as the title)."""
    return ref.title if not ref.heading or ref.heading == ref.title else f"{ref.title} — {ref.heading}"


def plain_source(ref: SourceRef) -> str:
    """A source in plain text: "[n] Title — Heading (url)"."""
    return f"[{ref.n}] {source_title(ref)}" + (f" ({ref.url})" if ref.url else "")


def reply_text(reply: Reply) -> str:
    """The answer text, with the reference id when an error reply does not already quote it."""
    if reply.reference_id and reply.reference_id not in reply.text:
        return wording.WITH_REFERENCE.format(text=reply.text, ref=reply.reference_id)
    return reply.text


def split_text(text: str, limit: int) -> list[str]:
    """Text in pieces of at most `limit` characters, cut at paragraph, line or word breaks."""
    chunks: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[:limit]
        cut = window.rfind("\n\n")
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


def section_name(section: SectionText) -> str:
    """ "Title — Heading" of a full section."""
    return source_title(SourceRef(0, section.title, "", section.heading, 0.0))


def wants_feedback(reply: Reply) -> bool:
    return bool(reply.audit_id) and reply.route in FEEDBACK_ROUTES


# -- approvals ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fact:
    label: str
    value: str
    kind: Literal["text", "people", "time", "code"] = "text"  # people, time: in the channel's markup already


def header(view: ApprovalView) -> str:
    """ "Approval needed" while open; once decided, what became of it."""
    return wording.HEADER_OPEN if view.open else wording.HEADERS.get(view.status, wording.HEADER_OPEN)


def needs(view: ApprovalView) -> str:
    if view.mode == "four_eyes" or view.required > 1:
        return wording.NEEDS_MANY.format(required=max(view.required, 2))
    return wording.NEEDS_ONE


def facts(view: ApprovalView, name: Name = display_name, clock: Clock = format_time) -> list[Fact]:
    """What an approval shows besides its title and status (never the tool's arguments)."""
    return [
        Fact(wording.FACT_REQUESTER, name(view.requester), "people"),
        Fact(wording.FACT_REASON, view.reason),
        Fact(wording.FACT_APPROVERS, join_names([name(a) for a in view.approvers]) or "—", "people"),
        Fact(wording.FACT_NEEDS, needs(view)),
        Fact(wording.FACT_RULE, view.rule, "code"),
        Fact(wording.FACT_EXPIRES, clock(view.expires_at, True), "time"),
    ]


def status_line(view: ApprovalView, name: Name = display_name, clock: Clock = format_time) -> str:
    """Where the approval stands in one line, e.g. "Approved by Carol Diaz at 14:02 UTC · done"."""
    approvals = [d for d in view.decisions if d.approve]
    if view.status == "rejected":
        rejection = next((d for d in reversed(view.decisions) if not d.approve), None)
        if rejection is None:
            return wording.STATUS_REJECTED
        return wording.STATUS_REJECTED_BY.format(who=name(rejection.approver), when=clock(rejection.at, False))
    if view.status == "expired":
        return wording.STATUS_EXPIRED.format(when=clock(view.expires_at, False))
    if view.status == "cancelled":
        return wording.STATUS_CANCELLED
    if view.status == "pending":
        if not approvals:
            return wording.STATUS_WAITING.format(when=clock(view.expires_at, True))
        missing = max(view.required - len(approvals), 1)
        more = wording.MORE_ONE if missing == 1 else wording.MORE_MANY.format(missing=missing)
        return wording.STATUS_PROGRESS.format(approved=_approved_by(approvals, name, clock), more=more)
    line = _approved_by(approvals, name, clock) if approvals else wording.STATUS_APPROVED
    if view.status == "executed":
        return wording.STATUS_DONE.format(approved=line)
    if view.status == "failed":
        return wording.STATUS_FAILED.format(approved=line)
    return line


def _approved_by(approvals: list[Decision], name: Name, clock: Clock) -> str:
    who = join_names([name(d.approver) for d in approvals])
    return wording.STATUS_APPROVED_BY.format(who=who, when=clock(max(d.at for d in approvals), False))


def tone(view: ApprovalView) -> Tone:
    """How the status feels (a colour in Teams, an icon in Slack)."""
    if view.status in ("approved", "executed", "executing"):
        return "good"
    if view.status in ("rejected", "failed"):
        return "attention"
    return "warning" if view.status == "expired" else "default"


def summary(view: ApprovalView, name: Name = display_name, clock: Clock = format_time) -> str:
    """The approval in one plain sentence (notifications, clients that cannot show the layout)."""
    return wording.SUMMARY.format(
        header=header(view),
        title=view.title,
        requester=name(view.requester),
        approvers=join_names([name(a) for a in view.approvers]) or "—",
        status=status_line(view, name, clock),
    )


# -- views and replies as data ------------------------------------------------------------------


def view_to_data(view: ApprovalView) -> dict[str, Any]:
    """An approval view as JSON-able data (dates as ISO strings) for a channel's memory; `view_from_data`
    turns it back. The tool's arguments are left out: a view is for display, never for running."""
    data = _plain(asdict(view))
    assert isinstance(data, dict)
    data.pop("arguments", None)
    return data


def view_from_data(data: Mapping[str, Any]) -> ApprovalView:
    values = dict(data)
    values["expires_at"] = datetime.fromisoformat(values["expires_at"])
    values["approvers"] = tuple(values["approvers"])
    values["required"] = int(values["required"])
    values["decisions"] = tuple(
        Decision(
            approver=d["approver"],
            approve=bool(d["approve"]),
            at=datetime.fromisoformat(d["at"]),
            comment=d.get("comment", ""),
        )
        for d in values.get("decisions") or ()
    )
    values.setdefault("arguments", {})
    return ApprovalView(**values)


def reply_to_data(reply: Reply) -> dict[str, Any]:
    """A `Reply` as JSON-able data (dates as ISO strings) that `reply_from_data` turns back."""
    data = _plain(asdict(reply))
    assert isinstance(data, dict)
    return data


def reply_from_data(data: Mapping[str, Any]) -> Reply:
    values = dict(data)
    values["citations"] = tuple(SourceRef(**c) for c in values.get("citations") or ())
    view = values.get("approval")
    values["approval"] = view_from_data(view) if view else None
    values["approvals"] = tuple(view_from_data(v) for v in values.get("approvals") or ())
    return Reply(**values)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
