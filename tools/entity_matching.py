"""Turning SCIM users into `Person`s, and matching people and group names (typos tolerated) with rapidfuzz."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from tools.directory_types import Person

NAME_CUTOFF = 80.0
GROUP_CUTOFF = 88.0
MAX_MATCHES = 10
G = TypeVar("G")


def fold(text: str) -> str:
    """Case- and accent-insensitive form: 'Zoë ' → 'zoe'."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()


def to_person(user: Any, emails_by_id: dict[str, str]) -> Person:
    """A Person from a SCIM User[EnterpriseUser]; the manager id is resolved through `emails_by_id`."""
    from scim2_models import EnterpriseUser  # here: matching names needs no SCIM library (directory_snapshot)

    name = user.name
    given = (name.given_name if name else None) or ""
    family = (name.family_name if name else None) or ""
    enterprise = user[EnterpriseUser]
    manager = enterprise.manager.value if enterprise and enterprise.manager else None
    primary = next((e.value for e in user.emails or [] if e.primary), None)
    email = (primary or user.user_name or "").lower()
    return Person(
        id=user.id or "",
        email=email,
        given_name=given,
        family_name=family,
        display_name=user.display_name or f"{given} {family}".strip() or email,
        title=user.title,
        department=enterprise.department if enterprise else None,
        manager_email=emails_by_id.get(manager) if manager else None,
        active=user.active is not False,
    )


def match_names(text: str, people: list[Person]) -> list[Person]:
    """People whose full, given or family name (or e-mail local part) is close to `text`, best first.

    Plain ratios rather than partial ones, so a two-letter query does not match every long name.
    """
    from rapidfuzz import fuzz, utils

    scored: list[tuple[float, Person]] = []
    for person in people:
        local = person.email.split("@", 1)[0].replace(".", " ")
        full = f"{person.given_name} {person.family_name}"
        candidates = (full, person.display_name, person.given_name, person.family_name, local)
        score = max(
            fuzz.token_sort_ratio(text, full, processor=utils.default_process),
            *(fuzz.ratio(text, c, processor=utils.default_process) for c in candidates),
        )
        if score >= NAME_CUTOFF:
            scored.append((score, person))
    scored.sort(key=lambda pair: (-pair[0], pair[1].display_name))
    return [p for _, p in scored[:MAX_MATCHES]]


def match_group(text: str, groups: Sequence[G], labels: Callable[[G], tuple[str, ...]]) -> G | None:
    """The group one of whose labels (name, display name…) equals `text` ignoring case and accents,
    else the one with a label within a small typo of it, else None."""
    wanted = fold(text)
    for group in groups:
        if wanted in {fold(label) for label in labels(group)}:
            return group
    from rapidfuzz import fuzz, process, utils  # here: an exact name (deciding on approvals) needs none

    choices = {(i, j): label for i, group in enumerate(groups) for j, label in enumerate(labels(group)) if label}
    best = process.extractOne(
        text, choices, scorer=fuzz.ratio, processor=utils.default_process, score_cutoff=GROUP_CUTOFF
    )
    return groups[best[2][0]] if best is not None else None
