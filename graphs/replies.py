"""From a graph run's `reply` state to the channel-neutral `Reply` (citations as `SourceRef`s)."""

from __future__ import annotations

from typing import Any

from channels.base import ApprovalView, Reply, SourceRef


def turn_reply(r: dict[str, Any], approvals: tuple[ApprovalView, ...] = ()) -> Reply:
    """The reply of a finished turn (an answer, a tool result, a clarifying question, a hand-off...), with
    the approval cards it lists ("what's waiting for me?")."""
    cites = tuple(
        SourceRef(
            n=c["n"],
            title=c["title"],
            source=c["source"],
            heading=c["heading"],
            score=float(c["score"]),
            url=c.get("url"),
        )
        for c in r.get("citations", [])
    )
    return Reply(
        text=r.get("text", ""),
        route=r.get("route", "answer"),
        citations=cites,
        sensitive=bool(r.get("sensitive")),
        audit_id=r.get("audit_id"),
        confidence=r.get("confidence"),
        tool=r.get("tool"),
        data=r.get("data") or {},
        approvals=approvals,
        section=r.get("section"),
    )
