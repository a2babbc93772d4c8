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

# The /deskhand slash command and the "Ask Deskhand about this" message shortcut (answered privately)
COMMAND = "/deskhand"
USAGE = (
    "*/deskhand <question>* asks me privately (only you see the answer).\n"
    "*/deskhand approvals* lists the requests waiting for your decision, with their buttons.\n"
    "*/deskhand help* shows this. On any message, *More actions → Ask Deskhand about this* asks about it."
)
NO_TEXT = "That message has no text I can ask about."
WAITING_QUESTION = "what's waiting for me?"  # what `/deskhand approvals` asks the agent, as the user
