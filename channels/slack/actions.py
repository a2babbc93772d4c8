"""Block Kit action ids: the one place interactive components and their listeners agree on names."""

from __future__ import annotations

APPROVE = "deskhand_approve"
REJECT = "deskhand_reject"  # opens the reason form (channels/slack/reasons.py)
APPROVE_WITH_COMMENT = "deskhand_approve_comment"  # opens the form with an optional comment
FEEDBACK_HELPFUL = "deskhand_feedback_helpful"
FEEDBACK_UNHELPFUL = "deskhand_feedback_unhelpful"

FEEDBACK = "deskhand_feedback"  # native feedback_buttons: value "helpful:<audit id>" / "unhelpful:<audit id>"
GET_HUMAN = "deskhand_get_human"  # value: the answer's audit id
SHOW_SECTION = "deskhand_show_section"  # value: the answer's section reference ("<index version>:<chunk id>")
HELPFUL_VALUE, UNHELPFUL_VALUE = "helpful", "unhelpful"

APPROVAL_ACTIONS = (APPROVE, REJECT, APPROVE_WITH_COMMENT)
FEEDBACK_ACTIONS = (FEEDBACK_HELPFUL, FEEDBACK_UNHELPFUL)

# block ids (so a refresh can find and replace the right block)
APPROVAL_BUTTONS_BLOCK = "deskhand_approval_buttons"
FEEDBACK_BLOCK = "deskhand_feedback"
GET_HUMAN_BLOCK = "deskhand_get_human"  # the answer's buttons: "Show full section", "Get a human"
