"""How a directory group is named and found by name, the same for SCIM resources (tools.directory_scim) and
for the embedded store read as JSON (tools.directory_snapshot). No SCIM library is imported here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TypeVar

from tools.directory_types import Group, NotFound
from tools.entity_matching import fold, match_group


class Member(Protocol):
    @property
    def value(self) -> str | None: ...


class GroupRecordLike(Protocol):
    """A group as the directory returns it (scim2-models `Group`, or its JSON read as such)."""

    @property
    def id(self) -> str | None: ...

    @property
    def external_id(self) -> str | None: ...

    @property
    def display_name(self) -> str | None: ...

    @property
    def members(self) -> Sequence[Member] | None: ...


G = TypeVar("G", bound=GroupRecordLike)


def group_name(group: GroupRecordLike, meta: Mapping[str, Any]) -> str:
    """The group's short handle: its externalId, else the name directory.yaml gives its display name, else its
    display name folded and hyphenated."""
    if group.external_id:
        return group.external_id
    label = fold(group.display_name or "")
    for record in meta.values():
        if fold(record.display_name) == label:
            return str(record.name)
    return "-".join(label.split())


def find_group(text: str, groups: Sequence[G], meta: Mapping[str, Any]) -> G | None:
    """The group called `text` (name, display name or externalId; small typos tolerated), or None."""
    return match_group(text, groups, lambda g: (group_name(g, meta), g.display_name or "", g.external_id or ""))


def no_such_group(text: str, groups: Sequence[GroupRecordLike], meta: Mapping[str, Any]) -> NotFound:
    """The error for a group name that matches none, with up to three close names as suggestions."""
    from rapidfuzz import fuzz, process, utils

    names = [group_name(g, meta) for g in groups]
    close = process.extract(text, names, scorer=fuzz.WRatio, processor=utils.default_process, limit=3, score_cutoff=50)
    suggestions = tuple(c[0] for c in close)
    hint = f" Did you mean {' or '.join(suggestions)}?" if suggestions else ""
    return NotFound(f"There is no group called {text!r} in the directory.{hint}", suggestions)


def to_group(group: GroupRecordLike, emails: Mapping[str, str], meta: Mapping[str, Any]) -> Group:
    """A `Group` with its members' e-mails (members unknown to `emails` left out) and directory.yaml's
    description and owners."""
    name = group_name(group, meta)
    record = meta.get(name)
    members = tuple(emails[m.value] for m in group.members or [] if m.value is not None and m.value in emails)
    return Group(
        id=group.id or "",
        name=name,
        display_name=group.display_name or name,
        description=record.description if record else "",
        owners=record.owners if record else (),
        members=members,
    )
