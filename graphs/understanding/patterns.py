"""Cue phrases the agent recognises by their form, each defined once (the router learns the rest from
graphs/understanding/intents.yaml): a question about one's own earlier request, and thanks."""

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
THANKS = re.compile(r"\b(thanks|thank\s+you|thx|ty|cheers|appreciated?)\b", re.I)


def asks_about_own_request(text: str) -> bool:
    """A question about a request the person already made: answered from the approvals store, never acted on."""
    return OWN_REQUEST.search(text) is not None and ABOUT_PROGRESS.search(text) is not None


def is_thanks(text: str) -> bool:
    return THANKS.search(text) is not None
