"""Every user-facing string the chat channels share: the same words for the same situation in each channel."""

from __future__ import annotations

# Turns
APOLOGY = "Sorry, something went wrong on my side (reference {ref}). Please try again."
CLICK_FAILED = "Sorry, I couldn't record that (reference {ref}). Please try again."
BUSY = "I'm still working on your previous message here. Please try again in a moment."
SENT_PRIVATELY = "I've sent you the answer privately, because it contains personal or financial details."
THINKING = "Thinking…"
EMPTY_ANSWER = 'Ask me a question, e.g. "How do I get VPN access?"'
WITH_REFERENCE = "{text} (reference {ref})"

# Clicks
FEEDBACK_THANKS = "Thanks, your feedback was recorded."
ALREADY_RECORDED = "Your response was already recorded."
UNKNOWN_ACTION = "That button is no longer supported. Please ask again."

# Answers
SOURCES = "Sources"
FEEDBACK_PROMPT = "Was this helpful?"
HELPFUL = "👍 Helpful"
NOT_HELPFUL = "👎 Not helpful"

# Approvals
APPROVE = "Approve"
REJECT = "Reject…"  # opens the reason form (channels/slack/reasons.py, channels/teams/reasons.py)
APPROVE_WITH_COMMENT = "Approve with comment…"
HEADER_OPEN = "Approval needed"
HEADERS = {
    "approved": "Approved",
    "executing": "Approved",
    "executed": "Approved and done",
    "failed": "Approved, but the action failed",
    "rejected": "Rejected",
    "expired": "Expired",
    "cancelled": "Cancelled",
}
FACT_REQUESTER = "Requested by"
FACT_REASON = "Why approval is needed"
FACT_APPROVERS = "Can approve"
FACT_NEEDS = "Needs"
FACT_RULE = "Rule"
FACT_EXPIRES = "Expires"
NEEDS_ONE = "1 approval"
NEEDS_MANY = "{required} approvals from different people (four eyes)"
SUMMARY = "{header}: {title}. Requested by {requester}. Can approve: {approvers}. {status}"

STATUS_WAITING = "Waiting for a decision · expires {when}"
STATUS_PROGRESS = "{approved} · {more} needed"
MORE_ONE = "1 more approval"
MORE_MANY = "{missing} more approvals"
STATUS_APPROVED_BY = "Approved by {who} at {when}"
STATUS_APPROVED = "Approved"
STATUS_DONE = "{approved} · done"
STATUS_FAILED = "{approved} · the action failed"
STATUS_REJECTED_BY = "Rejected by {who} at {when}"
STATUS_REJECTED = "Rejected"
STATUS_EXPIRED = "Expired at {when} without a decision"
STATUS_CANCELLED = "Cancelled"

# "Show full section" under a shortened answer
SHOW_SECTION = "Show full section"
SECTION_SENT = "Here is the full section."
