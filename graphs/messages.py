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
CLARIFY_WHICH_PERSON = "Which one do you mean: {options}? Give me their full name or e-mail address."
CLARIFY_INTENT = (
    "I'm not sure what you'd like me to do. Could you rephrase? For example: "
    '"what\'s the status of invoice INV-10042", "add bob@example.com to engineering", '
    "or ask a question about our policies."
)
DECLINE = (
    "Sorry, that's outside what I can help with. I answer HR, IT onboarding and accounts-payable "
    "questions, and I can look up invoices or request account changes."
)
# Hand-offs: each wording says only what actually happened.
HANDOFF = (
    "I can't pass messages on to the {team} team from here, so please contact them directly: {contact}. "
    "I haven't sent your message to anyone."
)
HANDOFF_NO_QUESTION = "I can't find the question behind that answer any more. Please ask again, or ask for a person."
HANDOFF_POSTED = (
    "I've posted your question for the {team} team in {where} (reference {ref}). When someone there answers "
    "in that thread, I'll bring the answer here. You can also reach them at {contact}."
)
HANDOFF_TICKET = (
    "I've opened ticket {ticket} for the {team} team with your question (reference {ref}). Their answer comes "
    "through that ticket, not this chat; to reach them directly: {contact}."
)
HANDOFF_FAILED = (
    "I couldn't pass your question on to the {team} team just now (reference {ref}); your request is saved. "
    "Please contact them directly at {contact} and quote {ref}."
)
HANDOFF_TEAM_POST = (
    "Hand-off {ref} for {team}: {who} asked in {platform}:\n“{question}”\n{link}"
    "Reply in this thread and Deskhand passes your answer on to them where they asked."
)
HANDOFF_LINK = "Conversation: {link}\n"
HANDOFF_ANSWER = "{who} from the {team} team answered your question ({ref}):\n“{text}”"
HANDOFF_RELAYED = "Passed on to {requester}."
HANDOFF_RELAY_FAILED = "I couldn't pass that on to {requester} (reference {ref}); please contact them directly."
UNIDENTIFIED_REQUESTER = "someone I couldn't match to the directory"
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
APPROVAL_JOINED = (
    "An identical request is already waiting for approval from {approvers} (approval {approval_id}, expires "
    "{expires}). I've added you to it instead of asking them again; I'll post the outcome here."
)
APPROVAL_ALREADY_ASKED = (
    'You already asked for this: "{title}" is waiting for approval from {approvers} (approval {approval_id}, '
    "expires {expires}). I'll post the outcome where you asked."
)
DECISION_REASON = ' Reason given by {who}: "{reason}"'
DECISION_COMMENT = ' Comment from {who}: "{comment}"'
APPROVAL_EXPIRED = 'Your request "{title}" expired before it was approved. Nothing was changed.'
APPROVAL_ABANDONED = 'Your approved request "{title}" was not carried out: {reason}. Nothing more will be tried.'
APPROVAL_ALREADY_USED = "This approval has already been used or is no longer valid; nothing was run again."
INVALID_ARGS = "I couldn't use those details: {problem}"
ERROR = "Sorry, something went wrong on my side (reference {ref}). Your request was not lost; please try again."
INACTIVE_REQUESTER = (
    "Your account is no longer active, so I can't answer questions, look anything up or run requests for you. "
    "If you think this is a mistake, please contact the IT service desk."
)
INACTIVE_APPROVER = "Your account is no longer active, so you can't decide on approval requests."
REQUESTER_INACTIVE = "The requester's account is no longer active, so this request can't go ahead. You may reject it."
STUCK = 'Your request "{title}" is stuck.'
UNREACHABLE = (
    " It can no longer get the {required} approvals it needs: too few eligible people with an active account "
    "are left ({eligible}). Ask an administrator."
)
NOTHING_WAITING = "Nothing is waiting for your decision right now."
WAITING_HEAD = "{count} request{s} wait for your decision:"
WAITING_MORE = "\n(The {shown} that expire soonest are shown; ask again once you've decided them.)"
NO_REQUESTS = "You have no requests on record: nothing is waiting for approval."
NO_MATCHING_REQUEST = "I couldn't find a request of yours about that. Your latest:"
GREETING = (
    "Hello! I'm Deskhand. I answer HR, IT onboarding and accounts-payable questions from the handbook, "
    "look up invoices, vendor payments and colleagues, and request account or payment changes (for example "
    '"what\'s the status of invoice INV-10042" or "add bob@example.com to engineering").'
)
THANKS = "You're welcome! Ask me anytime about HR, IT or accounts payable, or for an invoice or account change."
