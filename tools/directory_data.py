"""The sample directory file (`directory.yaml`): people, managers, groups and group owners."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from tools.data_files import WorkEmail, load_yaml_model

Email = WorkEmail
GroupName = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9][a-z0-9._-]*$")]


class PersonRecord(BaseModel):
    """One person: `email` doubles as the SCIM userName."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    given_name: str = Field(min_length=1)
    family_name: str = Field(min_length=1)
    email: Email
    title: str | None = None
    department: str | None = None
    manager: Email | None = None
    active: bool = True

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.family_name}"


class GroupRecord(BaseModel):
    """One group. `owners` is Deskhand metadata: SCIM has no standard group-owner attribute."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: GroupName
    display_name: str = Field(min_length=1)
    description: str = ""
    owners: tuple[Email, ...] = ()
    members: tuple[Email, ...] = ()


class DirectoryData(BaseModel):
    """The whole file, checked for dangling references (managers, owners and members must exist)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    people: tuple[PersonRecord, ...] = ()
    groups: tuple[GroupRecord, ...] = ()

    @model_validator(mode="after")
    def _references(self) -> DirectoryData:
        emails = [p.email for p in self.people]
        if len(set(emails)) != len(emails):
            dupes = sorted({e for e in emails if emails.count(e) > 1})
            raise ValueError(f"people: duplicate e-mail {', '.join(dupes)}")
        known = set(emails)
        for person in self.people:
            if person.manager is not None and person.manager not in known:
                raise ValueError(f"people: manager {person.manager} of {person.email} is not listed")
            if person.manager == person.email:
                raise ValueError(f"people: {person.email} cannot be their own manager")
        names = [g.name for g in self.groups]
        if len(set(names)) != len(names):
            raise ValueError("groups: duplicate group name")
        for group in self.groups:
            for email in (*group.owners, *group.members):
                if email not in known:
                    raise ValueError(f"groups: {email} in group {group.name} is not listed in people")
        return self

    def group(self, name: str) -> GroupRecord | None:
        return next((g for g in self.groups if g.name == name), None)


def load_directory_data(path: Path) -> DirectoryData:
    """Read and validate a `directory.yaml` file (raises `SampleDataError`)."""
    return load_yaml_model(path, DirectoryData)
