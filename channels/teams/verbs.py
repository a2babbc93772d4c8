"""Adaptive Card verbs: the one place card actions and the handler that answers them agree on names."""

from __future__ import annotations

APPROVE = "approve"
REJECT = "reject"
REFRESH = "refresh"
FEEDBACK = "feedback"

DECISIONS = {APPROVE: True, REJECT: False}  # verb -> approve?
