"""Every user-facing string the Slack channel shows, in one place."""

from __future__ import annotations

THINKING = "Thinking…"
SENT_PRIVATELY = "I've sent you the details privately."
APOLOGY = "Sorry, something went wrong on my side. Please try again, or quote reference {ref} to IT."
BUSY = "I'm still working on your previous message in this thread. Please try again in a moment."
FEEDBACK_THANKS = "Thanks for the feedback."
CLICK_FAILED = "Sorry, I couldn't record that. Please try again, or quote reference {ref} to IT."
EMPTY_MESSAGE = 'Ask me a question, e.g. "How do I get VPN access?"'
TRUNCATED = "_(answer shortened to fit in Slack)_"

SOURCES = "Sources"
FEEDBACK_PROMPT = "Was this helpful?"
HELPFUL = "👍 Helpful"
NOT_HELPFUL = "👎 Not helpful"

APPROVAL_HEADER = "Approval needed"
APPROVE = "Approve"
REJECT = "Reject…"  # asks for a reason
APPROVE_WITH_COMMENT = "Approve with comment…"
FIELD_FOR = "*Requested by*\n{who}"
FIELD_WHY = "*Why approval is needed*\n{reason}"
FIELD_RULE = "*Rule*\n`{rule}`"
FIELD_EXPIRES = "*Expires*\n{when}"
FIELD_APPROVERS = "*Can approve*\n{who}"
FOUR_EYES = "Needs {required} approvals from different people (four eyes)."
PROGRESS = "Approved by {who} ({count} of {required})."
APPROVAL_FALLBACK = "Approval needed: {title}. Requested by {requester}. Approvers: {approvers}."

STAMP_APPROVED = "✅ Approved by {who} at {when}"
STAMP_EXECUTED = "✅ Approved by {who} at {when} · done"
STAMP_FAILED = "⚠️ Approved by {who} at {when} · the action failed"
STAMP_REJECTED = "❌ Rejected by {who} at {when}"
STAMP_EXPIRED = "⌛ Expired at {when} without a decision"
STAMP_CANCELLED = "🚫 Cancelled"
