"""The contacts file: per team, whom people can reach and where a hand-off is posted (validated at start-up)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError, model_validator

from tools.yaml_text import parse_yaml


class ContactsError(Exception):
    """The contacts file is missing or invalid; the message names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SlackDestination(_Strict):
    """A Slack channel the team reads; the hand-off is posted there and answered in its thread."""

    channel: str = Field(pattern=r"^[CG][A-Z0-9_]{2,}$", description="the channel id (C…), not its name")
    name: str | None = Field(default=None, max_length=80, description='shown to the requester, e.g. "#ask-hr"')


class TeamsDestination(_Strict):
    """A Microsoft Teams channel; the hand-off starts a new post there and is answered in its replies."""

    conversation_id: str = Field(pattern=r"^19:[^;\s]+@thread\.[a-z0-9]+$", description="the channel's id")
    service_url: HttpUrl | None = None  # unset: the Bot Connector URL of the requester's conversation
    tenant_id: str | None = None
    name: str | None = Field(default=None, max_length=80)


class TicketDestination(_Strict):
    """A ticket system's webhook: the hand-off is POSTed there as JSON."""

    url: HttpUrl
    name: str | None = Field(default=None, max_length=80, description='e.g. "the HR queue"')


class TeamContact(_Strict):
    name: str = Field(min_length=1, max_length=60)  # as the agent names the team ("HR", "Accounts Payable")
    contact: str = Field(min_length=3, max_length=300)  # how a person reaches the team themselves
    slack: SlackDestination | None = None
    microsoft_teams: TeamsDestination | None = None
    ticket: TicketDestination | None = None

    def destination_for(self, channel: str) -> SlackDestination | TeamsDestination | None:
        """The team's channel on the platform `channel` ("slack" | "teams"), if it has one."""
        return {"slack": self.slack, "teams": self.microsoft_teams}.get(channel)


class Contacts(_Strict):
    teams: dict[str, TeamContact] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> Contacts:
        names = [t.name.lower() for t in self.teams.values()]
        if len(names) != len(set(names)):
            raise ValueError("two teams have the same name")
        return self

    def team(self, name: str) -> TeamContact | None:
        low = name.lower()
        return next((t for t in self.teams.values() if t.name.lower() == low), None)

    def contact_lines(self) -> dict[str, str]:
        """Team name → how to reach it, in file order (the knowledge base's "ask …" line uses it)."""
        return {t.name: t.contact for t in self.teams.values()}

    def team_threads(self) -> tuple[str, ...]:
        """Every configured team channel id: a hand-off thread can only be under one of them."""
        ids = [t.slack.channel for t in self.teams.values() if t.slack]
        ids += [t.microsoft_teams.conversation_id for t in self.teams.values() if t.microsoft_teams]
        return tuple(ids)

    def require(self, names: Iterable[str]) -> None:
        """Fail when a team the agent hands off to has no entry (a start-up check)."""
        missing = [n for n in names if self.team(n) is None]
        if missing:
            raise ContactsError(f"the contacts file has no entry for: {', '.join(missing)}")

    @classmethod
    def load(cls, path: Path) -> Contacts:
        try:
            raw: Any = parse_yaml(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ContactsError(f"cannot read the contacts file {path}: {exc.strerror or type(exc).__name__}") from None
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f" (line {mark.line + 1})" if mark is not None else ""
            raise ContactsError(f"the contacts file {path} is not valid YAML{line}") from None
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            problems = [
                f"{'.'.join(str(p) for p in err['loc']) or 'file'}: {err['msg']}"
                for err in exc.errors(include_input=False, include_url=False)
            ]
            raise ContactsError(f"invalid contacts file {path}:\n  " + "\n  ".join(problems)) from None
