"""Provisioning tools (find, create, group membership, deactivate) over a `Directory`, each declared whole:
schema, slots, title, side effects and the state it flips."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from tools.data_files import WorkEmail
from tools.directory_types import DirectoryError, Person
from tools.tool_env import ToolEnv
from tools.tool_spec import ToolContext, ToolResult, ToolSpec, json_safe, tool, unless_already

EmailArg = Annotated[WorkEmail, Field(max_length=320)]
NameArg = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class FindUserArgs(_Args):
    query: str = Field(
        min_length=1,
        max_length=200,
        description=(
            "A work e-mail address or a person's name; typos are tolerated. "
            "Examples: 'maya.patel@example.com', 'Maya Patel', 'maya'."
        ),
    )


class CreateUserArgs(_Args):
    given_name: NameArg = Field(description="The new person's first name, e.g. 'Dana'.")
    family_name: NameArg = Field(description="The new person's last name, e.g. 'Reyes'.")
    department: NameArg = Field(description="The department they join, e.g. 'Finance'.")
    start_date: date = Field(description="Their first working day as an ISO date, e.g. '2026-11-30'.")
    email: EmailArg | None = Field(
        default=None,
        description=("Their work e-mail. Leave empty to use the company convention first.last@company-domain."),
    )
    manager_email: EmailArg | None = Field(default=None, description="Their manager's work e-mail, if known.")


class MembershipArgs(_Args):
    email: EmailArg = Field(description="The work e-mail of the person, e.g. 'bob.martin@example.com'.")
    group: str = Field(
        min_length=1,
        max_length=200,
        description=("The group's name or display name, e.g. 'engineering' or 'VPN Users'."),
    )


class DeactivateUserArgs(_Args):
    email: EmailArg = Field(description="The work e-mail of the person whose account is deactivated.")


def _person_line(person: Person, names: dict[str, str]) -> str:
    role = ", ".join(x for x in (person.title, person.department) if x)
    manager = ""
    if person.manager_email:
        manager = f" · manager {names.get(person.manager_email, person.manager_email)}"
    state = "" if person.active else " · deactivated"
    return f"{person.display_name} ({person.email}){' — ' + role if role else ''}{manager}{state}"


def directory_tools(env: ToolEnv) -> list[ToolSpec]:
    """The provisioning tools, closed over the directory."""
    directory = env.directory

    async def email_for(args: CreateUserArgs) -> str:
        if args.email:
            return args.email
        domain = await directory.main_domain()
        if domain is None:
            raise DirectoryError(
                "I need the new person's work e-mail: the directory has no one to "
                "learn the company's e-mail convention from."
            )
        return directory.suggest_email(args.given_name, args.family_name, domain)

    async def find_user(args: FindUserArgs, ctx: ToolContext) -> ToolResult:
        """Look up people in the company directory by e-mail or name, with their title, department,
        manager and whether their account is active. Read-only."""
        people = await directory.find_users(args.query)
        if not people:
            return ToolResult(True, f"No one in the directory matches {args.query!r}.", {"people": []})
        names = {p.email: p.display_name for p in await directory.known_people()}
        lines = [_person_line(p, names) for p in people]
        summary = (
            lines[0] if len(lines) == 1 else f"{len(lines)} people match:\n" + "\n".join(f"• {line}" for line in lines)
        )
        return ToolResult(True, summary, {"people": json_safe(people)})

    async def create_user_facts(args: CreateUserArgs) -> dict[str, Any]:
        return {
            "email": await email_for(args),
            "department": args.department,
            "manager_email": args.manager_email,
            "start_date": args.start_date,
        }

    async def create_user(args: CreateUserArgs, ctx: ToolContext) -> ToolResult:
        """Create a directory account (SCIM) for a new joiner, active from creation. Idempotent: if an
        account with that e-mail already exists, it is returned and nothing is created."""
        email = await email_for(args)
        assert ctx.idempotency_key is not None
        person, created = await directory.create_user(
            args.given_name,
            args.family_name,
            email,
            args.department,
            args.start_date,
            args.manager_email,
            idempotency_key=ctx.idempotency_key,
        )
        data = {"person": json_safe(person), "created": created, "start_date": args.start_date.isoformat()}
        if not created:
            return ToolResult(
                True, f"{person.display_name} already has an account ({person.email}); nothing new was created.", data
            )
        manager = f", reporting to {args.manager_email}" if args.manager_email else ""
        return ToolResult(
            True,
            f"Created an account for {person.display_name} ({person.email}) in "
            f"{args.department}, starting {args.start_date:%a %d %b %Y}{manager}.",
            data,
        )

    async def membership_facts(args: MembershipArgs) -> dict[str, Any]:
        person = await directory.person(args.email)
        group = await directory.group(args.group)
        return {
            "person": person.email,
            "person_name": person.display_name,
            "group": group.name,
            "group_display_name": group.display_name,
            "group_owners": list(group.owners),
            "is_member": person.email in group.members,
        }

    add_facts = unless_already(  # nothing to change: said at once, never sent to approvers
        membership_facts,
        "is_member",
        True,
        lambda f: f"{f['person_name']} is already a member of {f['group_display_name']}.",
    )
    remove_facts = unless_already(
        membership_facts,
        "is_member",
        False,
        lambda f: f"{f['person_name']} is not a member of {f['group_display_name']}.",
    )

    async def add_to_group(args: MembershipArgs, ctx: ToolContext) -> ToolResult:
        """Add a person to a directory group (grants whatever the group grants, e.g. VPN access).
        Idempotent: adding an existing member changes nothing."""
        message = await directory.add_to_group(args.email, args.group)
        return ToolResult(True, message, {"email": args.email, "group": args.group})

    async def remove_from_group(args: MembershipArgs, ctx: ToolContext) -> ToolResult:
        """Remove a person from a directory group. Idempotent: removing a non-member changes nothing."""
        message = await directory.remove_from_group(args.email, args.group)
        return ToolResult(True, message, {"email": args.email, "group": args.group})

    async def person_facts(args: DeactivateUserArgs) -> dict[str, Any]:
        person = await directory.person(args.email)
        return {
            "person": person.email,
            "person_name": person.display_name,
            "manager_email": person.manager_email,
            "active": person.active,
        }

    deactivate_facts = unless_already(
        person_facts, "active", False, lambda f: f"{f['person_name']}'s account is already deactivated."
    )

    async def deactivate_user(args: DeactivateUserArgs, ctx: ToolContext) -> ToolResult:
        """Deactivate a person's directory account (active=false; sign-in stops, nothing is deleted).
        Idempotent: deactivating an inactive account changes nothing."""
        message = await directory.deactivate_user(args.email)
        return ToolResult(True, message, {"email": args.email})

    return [
        tool(
            find_user,
            FindUserArgs,
            read_only=True,
            sensitive=True,
            slots=("user",),
            from_slots=lambda s: {"query": s.get("user") or s.get("name", "")},
            title=lambda a: f"Look up {a.get('query')}",
        ),
        tool(
            create_user,
            CreateUserArgs,
            read_only=False,
            sensitive=True,
            slots=("name", "department", "start_date"),
            from_slots=_new_hire_args,
            title=_new_hire_title,
            entities=("group",),
            facts=create_user_facts,
        ),
        tool(
            add_to_group,
            MembershipArgs,
            read_only=False,
            sensitive=False,
            slots=("user", "group"),
            from_slots=_membership_args,
            entities=("group",),
            title=lambda a: f"Add {a.get('email')} to the {a.get('group')} group",
            flips=("is_member",),
            facts=add_facts,
        ),
        tool(
            remove_from_group,
            MembershipArgs,
            read_only=False,
            sensitive=False,
            slots=("user", "group"),
            from_slots=_membership_args,
            entities=("group",),
            title=lambda a: f"Remove {a.get('email')} from the {a.get('group')} group",
            flips=("is_member",),
            facts=remove_facts,
        ),
        tool(
            deactivate_user,
            DeactivateUserArgs,
            read_only=False,
            sensitive=False,
            slots=("user",),
            from_slots=lambda s: {"email": s.get("user")},
            title=lambda a: f"Deactivate the account of {a.get('email')}",
            flips=("active",),
            facts=deactivate_facts,
        ),
    ]


def _membership_args(s: Mapping[str, str]) -> dict[str, Any]:
    return {"email": s.get("user"), "group": s.get("group")}


def _new_hire_args(s: Mapping[str, str]) -> dict[str, Any]:
    parts = s.get("name", "").split()
    return {
        "given_name": parts[0] if parts else "",
        "family_name": " ".join(parts[1:]),
        "email": s.get("email"),
        "department": s.get("department"),
        "start_date": s.get("start_date"),
    }


def _new_hire_title(a: Mapping[str, Any]) -> str:
    start = f" starting {a['start_date']}" if a.get("start_date") else ""
    return (
        f"Create accounts for {a.get('given_name', '')} {a.get('family_name', '')} in {a.get('department', '?')}{start}"
    )
