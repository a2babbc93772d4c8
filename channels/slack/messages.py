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
SECTION_CONTINUED = "_(continued)_"
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

# App Home
HOME_WAITING = "Waiting for you"
HOME_NOTHING_WAITING = "Nothing is waiting for your decision right now."
HOME_REQUESTS = "Your requests"
HOME_NO_REQUESTS = "You have no requests on record."
HOME_WAITS_ON = "Waits on {who}"
HOME_CAN_DO = "What I can do"
HOME_CAN_DO_TEXT = (
    "• Answer questions from the company's documents, with sources: mention me, DM me, or `/deskhand <question>`"
    " (only you see that answer).\n"
    "• Run actions such as access requests or payment holds, after the right people approve.\n"
    "• Show what waits for your decision here, or with `/deskhand approvals`; hand you to a person when needed."
)
HOME_UNKNOWN = "I couldn't match your Slack account to the company directory, so there is nothing to show."
HOME_MORE = "…and more: ask `/deskhand approvals` for the full list."
