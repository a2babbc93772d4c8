"""The governance half of the composition root: audit log, approvals, directory, policy and tools, built the
same way for the full runtime (bot.wiring) and for `deskhand approvals decide`, which needs nothing else.

Nothing here imports the model stack, the router or LangGraph: deciding on an approval (and running its
action when the decision completes it) takes only these parts (graphs.deciding). The ledger (the AP tools'
client) is opened only when a decision completes an approval and its action runs; the SCIM directory client
only when that action uses it (the re-check of who may decide reads the embedded directory's snapshot file,
bot.decide_directory).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy.exc import IntegrityError

from bot.decide_directory import OnDemandDirectory, approver_lookups
from bot.fanout import ChannelFanout
from bot.faults import build_fault_hook
from bot.settings import Settings
from bot.tool_check import check_tool_wiring
from channels.local import LocalOutbox
from graphs.deciding import Decisions, Governance, run_directly
from graphs.governance.approvals import ApprovalStore
from graphs.governance.audit import AuditLog
from graphs.governance.policy import Policy
from graphs.identity import IdentityCache
from graphs.understanding.intent_examples import load_examples
from tools.catalog import ToolEnv, build_tools
from tools.tool_spec import ToolSpec

if TYPE_CHECKING:
    from tools.directory import Directory
    from tools.ledger import Ledger

log = logging.getLogger(__name__)


def build_audit(sessions: Any, settings: Settings) -> AuditLog:
    """The audit chain, keyed (HMAC) when an audit key is configured."""
    key = settings.audit_key_bytes
    return AuditLog(sessions, key) if key else AuditLog(sessions)


def seed_sample_ledger(sessions: Any, sample_data: Path) -> None:
    """Load the sample ledger into an empty database (another process may win the race: fine)."""
    from tools.ledger_data import seed_ledger

    try:
        with sessions.begin() as session:
            seed_ledger(session, sample_data / "ledger.yaml")
    except IntegrityError:
        log.info("another process seeded the AP ledger first")


def open_directory(settings: Settings) -> Directory:
    from tools.directory import build_directory  # the SCIM libraries: 0.6 s or more to import

    token = settings.scim_token.get_secret_value() if settings.scim_token else None
    return build_directory(settings.scim_url, token, settings.data_dir, settings.sample_data)


def wired_tools(directory: Directory, ledger: Ledger | None, policy: Policy) -> dict[str, ToolSpec]:
    """Every tool over live clients (without a ledger: for titles and masked fields only, nothing runs). A
    tool without an intent or a policy rule, or an intent or rule naming no tool, stops start-up
    (bot.tool_check)."""
    tools = build_tools(ToolEnv(directory, ledger, policy))  # type: ignore[arg-type]
    check_tool_wiring(tools, load_examples(), policy.tools)
    return tools


def local_fanout(settings: Settings) -> tuple[ChannelFanout, LocalOutbox]:
    """The fanout of a process without chat channels: the terminal's inbox (data folder)."""
    outbox = LocalOutbox(settings.data_dir / "inbox")
    return ChannelFanout({"local": outbox}), outbox


@dataclass
class Deciding:
    """`deskhand approvals decide`'s runtime: the shared decision logic over the governance parts."""

    decisions: Decisions
    identities: IdentityCache

    async def identify(self, email: str) -> str:
        """The approver's directory e-mail, else what they typed (as the agent's CLI identifies people)."""
        return (await self.identities.get(email)).email or email.lower()


@asynccontextmanager
async def open_decisions(settings: Settings, sessions: Any) -> AsyncIterator[Deciding]:
    """Deciding over `sessions` (an approved action runs here, at once, without the agent's graph)."""
    audit = build_audit(sessions, settings)
    directory = OnDemandDirectory(lambda: open_directory(settings))  # for the tools: opened if one uses it
    approvers = approver_lookups(settings, directory)  # the re-check's reads
    tracer = None
    try:
        if settings.traces_endpoint is not None:  # spans as the agent's runtime records them (SDK loaded then)
            from bot.observability import start_tracing

            tracer = start_tracing(settings)
        policy = Policy.load(settings.policy_file)
        governance = Governance(
            tools=wired_tools(cast("Directory", directory), None, policy),  # a decision shows titles, masks
            policy=policy,
            approver_directory=approvers,
            approvals=ApprovalStore(sessions, audit),
            audit=audit,
            escalation_group=settings.escalation_group,
            fault=build_fault_hook(settings.fault_points.split(","), settings.data_dir / "faults"),
        )
        fanout, _ = local_fanout(settings)
        identities = IdentityCache(approvers.get, ttl_s=settings.identity_ttl_s, changes=lambda: directory.changes)

        def running() -> Governance:
            """The same parts with the tools over a live ledger, for running a completed approval."""
            from tools.ledger import Ledger

            seed_sample_ledger(sessions, settings.sample_data)  # as the agent's start-up does
            return replace(governance, tools=wired_tools(cast("Directory", directory), Ledger(sessions), policy))

        yield Deciding(Decisions(governance, run_directly(running), fanout), identities)
    finally:
        await directory.aclose()
        if tracer is not None:
            await asyncio.to_thread(tracer.close)  # bounded by the export timeout
