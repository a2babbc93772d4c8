"""Adaptive Card verbs: the one place card actions and the handler that answers them agree on names."""

from __future__ import annotations

APPROVE = "approve"
REJECT = "reject"  # opens the reason form (channels/teams/reasons.py); the form's submission decides
APPROVE_COMMENT = "approve_comment"  # opens the form with an optional comment, then approves
REFRESH = "refresh"
FEEDBACK = "feedback"
SECTION = "show_section"  # data {"section": the answer's section reference}: the full section as a reply

DECISIONS = {APPROVE: True, REJECT: False}  # verb -> approve?
