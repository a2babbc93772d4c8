"""Plain result types and typed errors of the provisioning directory (no SCIM types cross this line)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Person:
    """A directory user. `email` is the work e-mail, which is also the SCIM userName."""

    id: str  # the SCIM resource id
    email: str
    given_name: str
    family_name: str
    display_name: str
    title: str | None = None
    department: str | None = None
    manager_email: str | None = None
    active: bool = True


@dataclass(frozen=True)
class Group:
    """A directory group. `name` is the short handle (e.g. "vpn-users"), `display_name` the label."""

    id: str  # the SCIM resource id
    name: str
    display_name: str
    description: str = ""
    owners: tuple[str, ...] = ()  # e-mails; Deskhand metadata from directory.yaml, not SCIM
    members: tuple[str, ...] = ()  # e-mails


class DirectoryError(Exception):
    """A directory operation failed; `message` is safe to show to the user as is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DirectoryError):
    """No such person or group; `suggestions` holds close matches (e-mails or group names)."""

    def __init__(self, message: str, suggestions: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.suggestions = suggestions


class Conflict(DirectoryError):
    """The directory refused a write because it clashes with existing data (HTTP 409)."""


class DirectoryUnavailable(DirectoryError):
    """The directory did not answer (timeouts, connection errors, 5xx) even after retrying."""
