"""Requests for another person's private data (pay, home address, leave balance…) are declined before
any tool runs: the directory holds work details only, and nobody may look up a coworker's private life."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from tools.yaml_text import parse_yaml

TOPICS_FILE = Path(__file__).resolve().parent / "privacy.yaml"
DECLINE = (
    "I can't share other people's personal information (pay, contact details at home, leave balances, "
    "reviews or health). Work details such as someone's title, team or manager I can look up; for anything "
    "else, please ask the person or HR."
)


@lru_cache(maxsize=4)  # read once per file: the topics are data, not state that changes while running
def private_topics(path: Path = TOPICS_FILE) -> re.Pattern[str]:
    """One case-insensitive pattern matching any private topic listed in `path` (graphs/understanding/privacy.yaml)."""
    data = parse_yaml(path.read_text(encoding="utf-8"))
    topics = data.get("topics") if isinstance(data, dict) else None
    if not topics or not all(isinstance(t, str) and t.strip() for t in topics):
        raise ValueError(f"{path}: `topics` must be a non-empty list of regular expressions")
    return re.compile(r"(?:(?<!\w)|(?='))(" + "|".join(f"(?:{t})" for t in topics) + r")(?!\w)", re.I)


def mentions_private_topic(text: str) -> bool:
    """True when `text` asks about something private to a person (whoever that person is)."""
    return private_topics().search(text.replace("\u2019", "'")) is not None


def asks_for_someone_elses_private_data(text: str, subject: str | None, requester: str | None) -> bool:
    """True when the message is about a private topic of a person other than the requester."""
    if subject is None or (requester is not None and subject.lower() == requester.lower()):
        return False
    return mentions_private_topic(text)
