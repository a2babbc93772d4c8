"""The composition root: turns validated settings into a running agent with its stores and channels."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, cast

from bot.cli_db import prepare_schema
from bot.degraded import ResilientAgent
from bot.fanout import ChannelFanout
from bot.faults import build_fault_hook
from bot.governance import build_audit, local_fanout, open_directory, seed_sample_ledger, wired_tools
from bot.metrics import observed_audit_log
from bot.models import LazyKnowledge, LazyRouter, Models
from bot.observability import start_tracing
from bot.settings import Settings, SettingsError
from bot.wiring_llm import LLMParts, build_llm
from channels.local import LocalOutbox
from graphs.agent import Agent
from graphs.checkpoint import open_checkpointer
from graphs.contacts import Contacts, ContactsError
from graphs.context import AgentDeps
from graphs.governance.approvals import ApprovalStore
from graphs.governance.audit import AuditLog
from graphs.governance.policy import Policy
from graphs.graph import build_agent
from graphs.handoff import HandoffDesk
from graphs.handoff_store import HandoffStore
from graphs.understanding.intents import IntentRouter
from graphs.understanding.lexicon import lexicon
from graphs.understanding.slots import Entities, Person, SlotExtractor
from knowledge.embedder import Embedder
from tools.directory import Directory
from tools.ledger import Ledger
from tools.storage.db import build_engine, build_sessionmaker
from tools.ticketing import WebhookTicketing

log = logging.getLogger(__name__)

ENTITY_TTL_S = 60.0
FIRST_LOAD_WAIT_S = 3.0  # the first turn after start-up waits at most this for the directory
RETRY_S = 10.0


class EntityCache:
    """People, groups and vendors for slot matching, refreshed at most once a minute.

    The directory is refreshed in the background: a slow or failing SCIM server never delays a turn
    (knowledge answers don't need it); a turn waits only for the very first load, and briefly.
    """

    def __init__(self, directory: Directory, ledger: Ledger) -> None:
        self.directory, self.ledger = directory, ledger
        self._entities = Entities()
        self._contacts: list[str] = []  # vendor contacts' names (personal data for LLM masking)
        self._at = -ENTITY_TTL_S  # never loaded
        self._loaded = False
        self._task: asyncio.Task[None] | None = None

    async def refresh(self, force: bool = False) -> None:
        if not force and time.monotonic() - self._at < ENTITY_TTL_S:
            return
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._load())
        if self._loaded and not force:
            return  # keep matching against the current entities meanwhile
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._task), FIRST_LOAD_WAIT_S)

    async def _load(self) -> None:
        entities = self._entities
        try:
            vendor_rows = await asyncio.to_thread(self.ledger.vendors)
            vendors = {v.name: list(v.aliases) for v in vendor_rows}
            self._contacts = [v.contact_name for v in vendor_rows if v.contact_name]
            entities = Entities(people=entities.people, groups=entities.groups, vendors=vendors)
            people = [Person(email=p.email, name=p.display_name) for p in await self.directory.known_people()]
            groups = {g.name: [g.display_name] for g in await self.directory.known_groups()}
            entities = Entities(people=people, groups=groups, vendors=vendors)
        except Exception as exc:
            log.warning("refreshing directory entities failed (%s); retrying in %ss", type(exc).__name__, RETRY_S)
            self._at = time.monotonic() - ENTITY_TTL_S + RETRY_S
        else:
            self._at = time.monotonic()
        self._entities, self._loaded = entities, True

    def names(self) -> list[str]:
        """People's names the LLM must not see: the directory's and the ledger's vendor contacts."""
        return [p.name for p in self._entities.people if p.name] + self._contacts

    def extractor(self) -> SlotExtractor:
        return SlotExtractor(self._entities, today=date.today())


@dataclass
class Runtime:
    settings: Settings
    agent: Agent
    deps: AgentDeps
    models: Models
    directory: Directory
    ledger: Ledger
    approvals: ApprovalStore
    audit: AuditLog
    fanout: ChannelFanout
    local_outbox: LocalOutbox
    entities: EntityCache
    llm: LLMParts | None = None
    sessions: Any = None  # the SQL sessionmaker (inbox, readiness checks)
    engine: Any = None


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "sentence_transformers", "transformers", "aiosqlite", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def init_sentry(settings: Settings) -> None:
    if settings.sentry_dsn is not None:
        import sentry_sdk

        sentry_sdk.init(
            dsn=settings.sentry_dsn.get_secret_value(), environment=settings.env.value, send_default_pii=False
        )


@dataclass
class Components:
    deps: AgentDeps
    models: Models
    directory: Directory
    ledger: Ledger
    approvals: ApprovalStore
    audit: AuditLog
    entities: EntityCache
    engine: Any
    contacts: Contacts
    handoffs: HandoffStore
    llm: LLMParts | None = None
    sessions: Any = None


def load_contacts(path: Path) -> Contacts:
    """The contacts file, with an entry for every team the agent hands off to; a problem stops start-up."""
    try:
        contacts = Contacts.load(path)
        contacts.require(lexicon().teams)
    except ContactsError as exc:
        raise SettingsError(f"DESKHAND_CONTACTS_FILE: {exc}") from None
    return contacts


def build_components(
    settings: Settings, embedder: Embedder | None = None, metrics: Any = None, *, lazy_models: bool = False
) -> Components:
    """Build the agent's dependencies (stores migrated, sample data seeded) without a checkpointer.
    With `lazy_models`, the model, index and router load only when a turn needs them."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    contacts = load_contacts(settings.contacts_file)
    models = Models(settings, embedder, contacts=contacts.contact_lines())
    if not lazy_models:
        models.load()
    engine = build_engine(settings.resolved_database_url)
    prepare_schema(engine)  # SQLite: upgraded in place; PostgreSQL: must be at head (`deskhand db upgrade`)
    sessions = build_sessionmaker(engine)
    ledger = Ledger(sessions)
    seed_sample_ledger(sessions, settings.sample_data)
    directory = open_directory(settings)
    policy = Policy.load(settings.policy_file)
    tools = wired_tools(directory, ledger, policy)  # a tool without an intent or policy rule stops start-up
    if metrics is not None:
        audit = observed_audit_log(sessions, metrics, settings.audit_key_bytes)
    else:
        audit = build_audit(sessions, settings)
    approvals = ApprovalStore(sessions, audit)
    entities = EntityCache(directory, ledger)
    parts: dict[str, Any] = {"tools": tools, "sessions": sessions, "directory": directory, "audit": audit}
    llm = build_llm(settings, **parts, names=entities.names, metrics=metrics)

    deps = AgentDeps(
        knowledge=LazyKnowledge(models),
        embed_query=lambda text: models.embedder.encode_query(text),
        router=cast(IntentRouter, LazyRouter(models)),
        slots=entities.extractor,
        tools=tools,
        policy=policy,
        approver_directory=directory,
        approvals=approvals,
        audit=audit,
        refresh_entities=entities.refresh,
        approval_ttl_minutes=settings.approval_ttl_minutes,
        identity_ttl_s=settings.identity_ttl_s,
        directory_changes=lambda: directory.changes,
        contacts=contacts.contact_lines(),
        escalation_group=settings.escalation_group,
        understander=llm.understander if llm else None,
        generator=llm.generator if llm else None,
        fault=build_fault_hook(settings.fault_points.split(","), settings.data_dir / "faults"),
    )
    return Components(
        deps=deps,
        models=models,
        directory=directory,
        ledger=ledger,
        approvals=approvals,
        audit=audit,
        entities=entities,
        engine=engine,
        contacts=contacts,
        handoffs=HandoffStore(sessions, audit, policy.version),
        llm=llm,
        sessions=sessions,
    )


@asynccontextmanager
async def open_runtime(
    settings: Settings, embedder: Embedder | None = None, metrics: Any = None, *, lazy_models: bool = False
) -> AsyncIterator[Runtime]:
    """Build every component from settings, with a durable checkpointer; close them on exit."""
    tracer = start_tracing(settings)  # before the graph is built: its nodes are wrapped in spans then
    try:
        async with _open_runtime(settings, embedder, metrics, lazy_models=lazy_models) as rt:
            yield rt
    finally:
        if tracer is not None:
            await asyncio.to_thread(tracer.close)  # bounded by the export timeout


@asynccontextmanager
async def _open_runtime(
    settings: Settings, embedder: Embedder | None, metrics: Any, *, lazy_models: bool
) -> AsyncIterator[Runtime]:
    c = build_components(settings, embedder, metrics, lazy_models=lazy_models)
    fanout, local_outbox = local_fanout(settings)
    token = settings.ticket_webhook_token
    ticketing = WebhookTicketing(
        token=token.get_secret_value() if token else None, timeout_s=settings.ticket_timeout_seconds
    )
    c.deps.handoffs = HandoffDesk(
        c.handoffs, c.contacts, fanout, ticketing=ticketing, name_of=_name_lookup(c.directory)
    )
    try:
        # PostgreSQL checkpoint tables come from `deskhand db upgrade`, never from a starting process.
        async with open_checkpointer(settings.database_url, settings.checkpoint_path, setup=False) as saver:
            if c.engine.dialect.name == "sqlite":  # a local file: never "down"
                agent = Agent(build_agent(saver), c.deps, fanout)
            else:  # PostgreSQL: handbook answers go on while it is unreachable (bot.degraded)
                spool = settings.data_dir / "audit-spool.jsonl"
                agent = ResilientAgent(build_agent(saver), c.deps, fanout, engine=c.engine, spool=spool)
            try:
                yield Runtime(
                    settings=settings,
                    agent=agent,
                    deps=c.deps,
                    models=c.models,
                    directory=c.directory,
                    ledger=c.ledger,
                    approvals=c.approvals,
                    audit=c.audit,
                    fanout=fanout,
                    local_outbox=local_outbox,
                    entities=c.entities,
                    llm=c.llm,
                    sessions=c.sessions,
                    engine=c.engine,
                )
            finally:
                await agent.drain()
    finally:
        await ticketing.close()
        await c.directory.aclose()
        c.engine.dispose()


def _name_lookup(directory: Directory) -> Any:
    async def name_of(email: str) -> str | None:
        person = await directory.get(email)
        return person.display_name if person else None

    return name_of
