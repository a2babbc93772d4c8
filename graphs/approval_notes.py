"""What requesters hear about an approval beyond its creation: joining an identical pending request, the
approver's reason or comment with the outcome, and the outcome for everyone who joined."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from channels.base import ApprovalView, Reply
from graphs import messages as msg
from graphs.governance.approval_joins import ApprovalJoins
from graphs.governance.approvals import when

log = logging.getLogger(__name__)
SHOWN_REASON_CHARS = 500


def joined_reply(view: ApprovalView, requester: str | None) -> Reply:
    """The answer to a request identical to one already pending: no new approval, nobody asked twice."""
    same = (requester or "").strip().lower() == view.requester
    template = msg.APPROVAL_ALREADY_ASKED if same else msg.APPROVAL_JOINED
    pending = [a for a in view.approvers if a not in {d.approver for d in view.decisions if d.approve}]
    text = template.format(
        title=view.title,
        approvers=", ".join(pending) or "the approvers",
        approval_id=view.approval_id,
        expires=when(view.expires_at),
    )
    return Reply(text=text, route="approval", data={"approval_id": view.approval_id, "joined": True})


def decision_note(approval: Any, who: str) -> str:
    """The reason (rejection) or comment (approval) `who` gave, as a sentence to append; "" when none."""
    comment = next((d.comment for d in reversed(approval.decisions) if d.approver == who.strip().lower()), "")
    comment = " ".join(str(comment).split())[:SHOWN_REASON_CHARS]
    if not comment:
        return ""
    decision = next((d for d in reversed(approval.decisions) if d.approver == who.strip().lower()), None)
    if decision is not None and not decision.approve:
        return msg.DECISION_REASON.format(who=who, reason=comment)
    return msg.DECISION_COMMENT.format(who=who, comment=comment)


async def notify_waiters(store: Any, fanout: Any, approval: Any, reply: Reply) -> None:
    """Tell everyone who joined `approval` (best effort, each on their own channel)."""
    try:
        waiters = await asyncio.to_thread(ApprovalJoins(store).waiters, approval.id)
    except Exception:
        log.exception("could not read who else waits on approval %s", approval.id)
        return
    for waiter in waiters:
        try:
            await fanout.notify(waiter.channel, waiter.conversation_ref, reply)
        except Exception:
            log.exception("could not tell a joined requester about approval %s", approval.id)


async def joiner_refusal(store: Any, approval_id: str, who: str | None) -> str | None:
    """Why `who` may not decide on `approval_id`: they asked for the same thing themselves."""
    if not who:
        return None
    return await asyncio.to_thread(ApprovalJoins(store).refusal, approval_id, who)
