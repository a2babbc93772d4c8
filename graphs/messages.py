"""Every user-facing sentence the agent says, in one place."""

from __future__ import annotations

CLARIFY = {
    "name": "What is the new hire's full name?",
    "department": "Which department or team will {name} join?",
    "start_date": "When does {name} start? A date such as 2026-12-07, or a weekday like Monday.",
    "user": "Who is this for? Give me their name or e-mail address.",
    "group": "Which group should I use?",
    "invoice_id": "Which invoice? Give me its number, e.g. INV-10042.",
    "vendor": "Which vendor do you mean?",
}
CLARIFY_INTENT = (
    "I'm not sure what you'd like me to do. Could you rephrase? For example: "
    '"what\'s the status of invoice INV-10042", "add bob@example.com to engineering", '
    "or ask a question about our policies."
)
DECLINE = (
    "Sorry, that's outside what I can help with. I answer HR, IT onboarding and accounts-payable "
    "questions, and I can look up invoices or request account changes."
)
HANDOFF = "I've flagged this for the {team} team; someone will reply here. You can also reach them at {contact}."
UNKNOWN_REQUESTER = (
    "I couldn't match your account to our directory, so I can't run actions for you. "
    "Please contact the IT service desk."
)
CONFIRM = "Please confirm: {title}. Reply **yes** to go ahead or **no** to cancel."
CANCELLED = "OK, I've cancelled that. Nothing was changed."
APPROVAL_REQUESTED = (
    "{title} needs approval: {reason} I've asked {approvers}. I'll post the outcome here. "
    "(approval {approval_id}, expires {expires})"
)
APPROVAL_REJECTED = 'Your request "{title}" was rejected by {who}. Nothing was changed.'
APPROVAL_EXPIRED = 'Your request "{title}" expired before it was approved. Nothing was changed.'
APPROVAL_ALREADY_USED = "This approval has already been used or is no longer valid; nothing was run again."
INVALID_ARGS = "I couldn't use those details: {problem}"
ERROR = "Sorry, something went wrong on my side (reference {ref}). Your request was not lost; please try again."
