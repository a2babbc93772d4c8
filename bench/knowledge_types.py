"""Answer-type agreement for bench/knowledge_hit.py: which kind of answer a question's wh-form asks for, and
whether an answer text carries it. Generic English wording only; nothing here names a corpus's vocabulary."""

from __future__ import annotations

import re

_TOKEN = re.compile(r"\b\w+\b")
# Question phrases (matched as whole words in the lower-cased question) → the kind of answer they ask for.
ASKS: dict[str, tuple[str, ...]] = {
    "amount": (
        "how much",
        "how many",
        "what percent",
        "what percentage",
        "how big",
        "how large",
        "how high",
        "how far",
        "how often",
        "what amount",
    ),
    "time": (
        "how long",
        "when",
        "by when",
        "what date",
        "which date",
        "what day",
        "which day",
        "what days",
        "which days",
        "what time",
        "deadline",
        "how soon",
        "how quickly",
        "how far in advance",
    ),
    "person": ("who", "whom", "whose", "which team", "what team", "which person"),
    "named": (
        "where",
        "which tool",
        "what tool",
        "which system",
        "what system",
        "which app",
        "what app",
        "which platform",
        "what platform",
        "which software",
        "what software",
        "which service",
        "what service",
        "which company",
        "what company",
        "which website",
        "what website",
        "which provider",
        "what provider",
    ),
}
_NUMBER_WORD = (
    r"(?:a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|"
    r"sixty|hundred|thousand|half|several|a few|\d[\d,.]*)"
)
_UNIT = r"(?:seconds?|minutes?|hours?|days?|nights?|weeks?|months?|quarters?|years?)"
_AMOUNT = re.compile(
    r"\d|[$€£¥%]|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|"
    r"fifty|hundred|thousand|million|half|double|twice|percent|unlimited|no limit)\b",
    re.IGNORECASE,
)
_TIME = re.compile(
    rf"\b{_NUMBER_WORD}[\s-]+(?:business\s|calendar\s|working\s)?{_UNIT}\b"
    r"|\b(?:daily|weekly|fortnightly|monthly|quarterly|annually|yearly|hourly|every|immediately|asap|"
    r"within|until|before|after|deadline|today|tomorrow|monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
    r"january|february|march|april|may|june|july|august|september|october|november|december|noon|midnight)\b"
    r"|\b\d{1,2}(?::\d{2})?\s?(?:am|pm)\b|\b\d{1,2}:\d{2}\b|\b\d{4}-\d{2}-\d{2}\b",
    re.IGNORECASE,
)
_ROLE = re.compile(
    r"\b(?:manager|managers|team|teams|lead|leads|head|people|hr|officer|director|admin|administrator|owner|"
    r"coordinator|supervisor|department|staff|colleague|member|members|committee|board|founder|founders|"
    r"ceo|cto|cfo|coo|recruiter|buddy|mentor)\b",
    re.IGNORECASE,
)
_PROPER = re.compile(r"(?<![.!?:]\s)(?<!^)\b[A-Z][a-zA-Z0-9]+|\b\w*[a-z0-9][A-Z]\w*")
_CONTACT = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+|(?<!\w)[#@][a-z][\w-]+", re.IGNORECASE)
_LINK = re.compile(r"https?://|\b[\w-]+(?:\.[\w-]+)*\.(?:gov|com|org|net|io|us|app|dev|co)\b|`[^`]+`|\w > \w")


def asks(question: str) -> frozenset[str]:
    """The kinds of answer the question asks for (empty: a yes/no, how-to or open question)."""
    lowered = " " + " ".join(_TOKEN.findall(question.lower())) + " "
    kinds = frozenset(kind for kind, cues in ASKS.items() if any(f" {cue} " in lowered for cue in cues))
    # "which password manager", "which laptop": a choice among named things, unless a cue above said otherwise
    return kinds or (frozenset({"named"}) if " which " in lowered else kinds)


def carries(answer: str) -> frozenset[str]:
    """The kinds of answer the text carries."""
    proper = bool(_PROPER.search(answer))
    contact = bool(_CONTACT.search(answer))
    has = {
        "amount": bool(_AMOUNT.search(answer)),
        "time": bool(_TIME.search(answer)),
        "person": proper or contact or bool(_ROLE.search(answer)),
        "named": proper or contact or bool(_LINK.search(answer)),
    }
    return frozenset(k for k, v in has.items() if v)


def agreement(question: str, answer: str) -> float:
    """Share of the asked kinds the answer carries, minus 1 (0 when the question asks for no kind)."""
    wanted = asks(question)
    if not wanted:
        return 0.0
    return len(wanted & carries(answer)) / len(wanted) - 1.0
