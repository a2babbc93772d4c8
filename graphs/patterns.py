"""Cue phrases the agent recognises by their form, each defined once (the router learns the rest from
graphs/intents.yaml): a question about one's own earlier request, what waits for one's decision, and thanks."""

from __future__ import annotations

import re

# "my request", "my access request", "the approval I asked for", "the hold I requested"
OWN_REQUEST = re.compile(
    r"\b(my|our)\s+(?:[\w-]+\s+){0,3}?(request|requests|approval|approvals|ticket|tickets)\b"
    r"|\b(request|approval|hold|change|ticket)s?\s+(?:that\s+)?(i|we)\s+"
    r"(made|sent|raised|submitted|filed|opened|asked for|requested)\b",
    re.I,
)
# Asked as a question or about progress, not as an instruction ("cancel my request" is not one).
ABOUT_PROGRESS = re.compile(
    r"^\s*(what|what's|whats|where|when|why|how|who|whom|is|are|has|have|had|did|was|were|any|check|show|list)\b"
    r"|\?\s*$|\b(status|update|news|progress|happen(?:ed|ing)|going on|stuck|waiting)\b",
    re.I,
)
# What waits for *my* decision, as an approver: "what's waiting for me?", "anything for me to approve?",
# "which requests can I approve", "what needs my sign-off", "approvals assigned to me", "my approval queue".
_DECIDE = r"(approve|approval|decide|decision|sign[\s-]?off|review|ok|okay|look\s+at)"
# "me" as the one who decides, not "waiting for me to call" or "require me to get a visa"
_ME = r"me\b(?!\s+to\s+(?!" + _DECIDE + r"))"
AWAITING_ME = re.compile(
    r"\b(waiting|pending|queued|outstanding|open)\s+(for|on)\s+(" + _ME + r"|my\s+" + _DECIDE + r"\b)"
    r"|\b(need|needs|needing|require|requires|requiring|await|awaits|awaiting)\s+(" + _ME + r"(?!\s+to\b)"
    r"|my\s+" + _DECIDE + r"\b)"
    r"|\bfor\s+me\s+to\s+" + _DECIDE + r"\b"
    r"|\b(what|which|anything|any|requests?|approvals?|items?|ones?)(\s+(?!(when|if|after|before|once|how|why)\b)"
    r"[\w'-]+){0,4}?\s+i\s+(still\s+)?((can|should|must|could|may|need\s+to|have\s+to|got\s+to)\s+)?"
    r"(approve|decide\s+on|sign\s+off)\b"
    r"|\b(anything|something|what)\s+(else\s+)?to\s+(approve|decide\s+on|sign\s+off)\b"
    r"|\b(approvals|decisions|requests)\s+(assigned\s+to|addressed\s+to|waiting\s+on|pending\s+on)\s+me\b"
    r"|\b(approvals?|decisions?)\s+for\s+me\b"
    r"|\bmy\s+(approval|approvals|review|decision)\s+(queue|inbox|list|backlog|to-?do)\b",
    re.I,
)
THANKS = re.compile(r"\b(thanks|thank\s+you|thx|ty|cheers|appreciated?)\b", re.I)


def asks_about_own_request(text: str) -> bool:
    """A question about a request the person already made: answered from the approvals store, never acted on."""
    return OWN_REQUEST.search(text) is not None and ABOUT_PROGRESS.search(text) is not None


def asks_what_awaits_me(text: str) -> bool:
    """A question about the approvals waiting for this person's decision: answered with a list, never acted on."""
    return AWAITING_ME.search(text) is not None


def is_thanks(text: str) -> bool:
    return THANKS.search(text) is not None
