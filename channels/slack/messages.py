"""The user-facing strings only Slack shows (the shared ones are in `channels.core.wording`)."""

from __future__ import annotations

TRUNCATED = "_(answer shortened to fit in Slack)_"

# Agents & AI Apps container (assistant threads)
GREETING = "Hi! I answer questions from the company's documents, with sources, and can run approved actions."
PROMPTS_TITLE = "Try asking"
SUGGESTED_PROMPTS = (
    ("What can you do?", "What can you help me with?"),
    ("Find a policy", "Where can I find the policy on "),
    ("Talk to a person", "I'd like to talk to a person."),
)
STATUS_THINKING = "is thinking…"
TITLE_LIMIT = 60
GET_HUMAN = "Get a human"
APPROVAL_BELOW = "I've asked for approval: see the request below."
