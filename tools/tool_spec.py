"""The shape of one Deskhand tool, declared in one place: argument schema, the slots it needs and how they
become arguments, the entity kinds that point to it, its title, side effects and the state it flips; plus
an error boundary and JSON-safe results."""

from __future__ import annotations

import dataclasses
import inspect
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from pydantic import BaseModel, ValidationError

from tools.data_files import SampleDataError
from tools.directory_types import Conflict, DirectoryError, DirectoryUnavailable, NotFound
from tools.ledger_types import HoldNotAllowed, InvalidRequest, InvoiceNotFound, LedgerError, VendorNotFound
from tools.tracing import annotate, span

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ToolContext:
    """Who is calling, injected by the agent (never part of the model-facing schema)."""

    requester: str  # the requester's directory e-mail
    idempotency_key: str | None = None  # required by side-effecting tools: one key per approved action
    request_id: str = ""


@dataclass(frozen=True)
class ToolResult:
    ok: bool
    summary: str  # user-facing text
    data: dict[str, Any] = field(default_factory=dict)  # JSON-safe (Decimal as string, dates ISO)


RunFn = Callable[[Any, ToolContext], Awaitable[ToolResult]]
FactsFn = Callable[[Any], Awaitable[dict[str, Any]]]
SlotsFn = Callable[[Mapping[str, str]], dict[str, Any]]  # the router's slots → the tool's raw arguments
TitleFn = Callable[[Mapping[str, Any]], str]  # validated arguments → one line for confirmations and approvals
NOOP = "noop"  # the fact saying the action would change nothing (its text is the answer)

_ERROR_KINDS: tuple[tuple[type[Exception], str], ...] = (
    (NotFound, "not_found"),
    (InvoiceNotFound, "not_found"),
    (VendorNotFound, "not_found"),
    (Conflict, "conflict"),
    (DirectoryUnavailable, "unavailable"),
    (HoldNotAllowed, "not_allowed"),
    (InvalidRequest, "invalid_request"),
)
EXPECTED_ERRORS = (DirectoryError, LedgerError, SampleDataError)


def json_safe(value: Any) -> Any:
    """Plain JSON data: Decimal → string (exact), dates → ISO, dataclasses/models → dicts."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: json_safe(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, BaseModel):
        return json_safe(value.model_dump())
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    return value


def error_result(exc: Exception) -> ToolResult:
    """A typed tool error as a failed result carrying only its user-facing message."""
    kind = next((k for cls, k in _ERROR_KINDS if isinstance(exc, cls)), "refused")
    data: dict[str, Any] = {"error": kind}
    suggestions = getattr(exc, "suggestions", ())
    if suggestions:
        data["suggestions"] = list(suggestions)
    return ToolResult(False, getattr(exc, "message", "The request was refused."), data)


def _validation_message(exc: ValidationError) -> tuple[str, list[str]]:
    fields: list[str] = []
    parts: list[str] = []
    for err in exc.errors(include_input=False, include_url=False):
        name = ".".join(str(p) for p in err["loc"]) or "arguments"
        fields.append(name)
        message = str(err["msg"]).removeprefix("Value error, ")
        parts.append(f"{name.replace('_', ' ')}: {message}")
    return "Some details are missing or invalid — " + "; ".join(parts) + ".", fields


@dataclass(frozen=True)
class ToolSpec:
    """One tool: the schema and docstring the model sees, policy flags, and the guarded runner."""

    name: str
    description: str
    args_model: type[BaseModel]
    read_only: bool
    sensitive: bool  # the result carries personal or financial data (answer privately in shared channels)
    runner: RunFn
    slots: tuple[str, ...]  # what the router must have found before the tool can run (else it asks)
    entity_kinds: tuple[str, ...]  # extracted entity kinds that make this tool's intent more plausible
    slot_args: SlotsFn
    title_fn: TitleFn
    flips: frozenset[str] = frozenset()  # fact keys that are the state the action itself changes
    fact_finder: FactsFn | None = None
    masked_fields: frozenset[str] = frozenset()

    @property
    def side_effects(self) -> bool:
        return not self.read_only

    @property
    def state_facts(self) -> frozenset[str]:
        """Facts the approver did not decide on: the state this action flips, and "nothing to change". After
        a crash mid-execution they have already flipped, so they are left out of the approval's digest."""
        return self.flips | {NOOP}

    def args_from_slots(self, slots: Mapping[str, str]) -> dict[str, Any]:
        """The router's slot values as this tool's (not yet validated) arguments."""
        return self.slot_args(slots)

    def title(self, args: Mapping[str, Any]) -> str:
        """One line describing the action, for confirmations and approval messages."""
        return self.title_fn(args)

    def parse(self, raw: BaseModel | Mapping[str, Any]) -> BaseModel:
        """Validated arguments (raises pydantic.ValidationError)."""
        if isinstance(raw, self.args_model):
            return raw
        data = raw.model_dump() if isinstance(raw, BaseModel) else dict(raw)
        return self.args_model.model_validate(data)

    async def run(self, args: BaseModel | Mapping[str, Any], ctx: ToolContext) -> ToolResult:
        """Validate and run; expected failures become ok=False results with a clear message."""
        if not self.read_only and not ctx.idempotency_key:
            raise ValueError(f"{self.name} changes data and needs ToolContext.idempotency_key")
        with span(f"tool {self.name}", tool=self.name, read_only=self.read_only):
            result = await self._run(args, ctx)
            annotate(ok=result.ok, error=result.data.get("error") if not result.ok else None)
            return result

    async def _run(self, args: BaseModel | Mapping[str, Any], ctx: ToolContext) -> ToolResult:
        try:
            parsed = self.parse(args)
        except ValidationError as exc:
            message, fields = _validation_message(exc)
            return ToolResult(False, message, {"error": "invalid_arguments", "fields": fields})
        try:
            return await self.runner(parsed, ctx)
        except EXPECTED_ERRORS as exc:
            return error_result(exc)
        except Exception:
            reference = uuid.uuid4().hex[:8].upper()  # the one reference format users see (8 upper-case hex)
            log.exception("tool %s failed unexpectedly (reference %s)", self.name, reference)
            return ToolResult(
                False,
                f"Sorry, something went wrong on our side while running {self.name.replace('_', ' ')} "
                f"(reference {reference}). Nothing else was attempted.",
                {"error": "internal", "reference": reference},
            )

    async def facts(self, args: BaseModel | Mapping[str, Any]) -> dict[str, Any]:
        """What the risk policy needs to know beyond the arguments (an amount, a group's owners...).

        JSON-safe. On an expected failure (unknown invoice, person or group) returns
        {"error": kind, "message": ...} so the caller can answer before asking for approval.
        """
        if self.fact_finder is None:
            return {}
        try:
            return json_safe(await self.fact_finder(self.parse(args)))  # type: ignore[no-any-return]
        except ValidationError as exc:
            return {"error": "invalid_arguments", "message": _validation_message(exc)[0]}
        except EXPECTED_ERRORS as exc:
            failed = error_result(exc)
            return {"error": failed.data["error"], "message": failed.summary}

    def redact(self, args: BaseModel | Mapping[str, Any]) -> dict[str, Any]:
        """The arguments as JSON with secret fields (bank numbers) masked to their last four characters,
        for approval cards and the audit log."""
        data = args.model_dump() if isinstance(args, BaseModel) else dict(args)
        safe = json_safe(data)
        for name in self.masked_fields:
            value = safe.get(name)
            if isinstance(value, str) and value:
                safe[name] = "••••" + value.replace(" ", "")[-4:]
        return safe  # type: ignore[no-any-return]


def tool(
    fn: RunFn,
    args_model: type[BaseModel],
    *,
    read_only: bool,
    sensitive: bool,
    slots: Iterable[str],
    from_slots: SlotsFn,
    title: TitleFn,
    entities: Iterable[str] = (),
    flips: Iterable[str] = (),
    facts: FactsFn | None = None,
    masked: Iterable[str] = (),
) -> ToolSpec:
    """A ToolSpec named after `fn`, whose docstring is the model-facing description.

    `slots` are the router slots the tool needs (it asks for missing ones), `from_slots` maps slots to
    arguments, `title` describes a call to people, `entities` are the entity kinds that hint at this tool,
    and `flips` names the facts that are the very state the action changes (e.g. "is_member").
    """
    description = inspect.getdoc(fn)
    if not description:
        raise ValueError(f"tool {fn.__name__} needs a docstring: it is the model-facing contract")
    if read_only and flips:
        raise ValueError(f"tool {fn.__name__} is read-only, so it flips no state")
    return ToolSpec(
        name=fn.__name__,
        description=description,
        args_model=args_model,
        read_only=read_only,
        sensitive=sensitive,
        runner=fn,
        slots=tuple(slots),
        entity_kinds=tuple(entities),
        slot_args=from_slots,
        title_fn=title,
        flips=frozenset(flips),
        fact_finder=facts,
        masked_fields=frozenset(masked),
    )


def unless_already(
    find: Callable[[Any], Awaitable[dict[str, Any]]], key: str, done: bool, says: Callable[[dict[str, Any]], str]
) -> FactsFn:
    """Facts from `find`, plus the "nothing to change" fact when `facts[key]` is already `done` (already a
    member, already on hold…): the agent then answers at once and never asks approvers."""

    async def facts(args: Any) -> dict[str, Any]:
        found = await find(args)
        if bool(found.get(key)) is done:
            found[NOOP] = says(found)
        return found

    return facts
