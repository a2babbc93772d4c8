"""Block Kit action ids: the one place interactive components and their listeners agree on names."""

from __future__ import annotations

APPROVE = "deskhand_approve"
REJECT = "deskhand_reject"
FEEDBACK_HELPFUL = "deskhand_feedback_helpful"
FEEDBACK_UNHELPFUL = "deskhand_feedback_unhelpful"

APPROVAL_ACTIONS = (APPROVE, REJECT)
FEEDBACK_ACTIONS = (FEEDBACK_HELPFUL, FEEDBACK_UNHELPFUL)

# block ids (so a refresh can find and replace the right block)
APPROVAL_BUTTONS_BLOCK = "deskhand_approval_buttons"
FEEDBACK_BLOCK = "deskhand_feedback"
