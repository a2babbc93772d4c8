"""Requests for another person's private data (pay, home address, leave balance…) are declined before
any tool runs: the directory holds work details only, and nobody may look up a coworker's private life."""

from __future__ import annotations

import re

# Topics that are private to each employee, whatever tool or document could be stretched to answer them.
_TOPICS = [
    r"salar(y|ies)",
    r"paid",
    r"earn\w*",
    r"how much (does|do|did) .{1,40} (make|get)",
    r"pay ?(rate|check|slip)",
    r"wages?",
    r"compensation",
    r"bonus(es)?",
    r"(street|postal|mailing|home) address",
    r"home phone",
    r"phone number",
    r"mobile",
    r"personal (e-?mail|phone)",
    r"(pto|vacation|holiday|leave|sick)\b.{0,40}\b(balance|left|remaining|taken)",
    r"days? (off )?left",
    r"performance (review|rating)",
    r"disciplinary",
    r"medical",
    r"health",
    r"diagnos\w*",
    r"pregnan\w*",
    r"social security",
    r"ssn",
    r"date of birth",
    r"birthday",
    r"age",
    r"religio\w*",
    r"criminal",
    r"background check",
    r"bank (account|details)",
]
PRIVATE_TOPICS = re.compile(r"\b(" + "|".join(_TOPICS) + r")\b", re.I)
DECLINE = (
    "I can't share other people's personal information (pay, contact details at home, leave balances, "
    "reviews or health). Work details such as someone's title, team or manager I can look up; for anything "
    "else, please ask the person or HR."
)


def asks_for_someone_elses_private_data(text: str, subject: str | None, requester: str | None) -> bool:
    """True when the message is about a private topic of a person other than the requester."""
    if subject is None or (requester is not None and subject.lower() == requester.lower()):
        return False
    return PRIVATE_TOPICS.search(text) is not None
