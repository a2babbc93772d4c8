"""The sample world's governance parts on a data folder, without the agent: for tests and benchmarks that need a
pending approval exactly as the agent records it (the policy's approvers, bound to the facts it looked up)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.settings import DEFAULT_POLICY, DEFAULT_SAMPLE_DATA
from graphs.governance.approvals import ApprovalStore
from graphs.governance.policy import Policy
from tools.catalog import build_tools
from tools.directory import build_directory
from tools.ledger import Ledger
from tools.ledger_data import seed_ledger
from tools.storage.db import build_engine, build_sessionmaker
from tools.tool_env import ToolEnv


@dataclass
class SampleWorld:
    directory: Any
    policy: Policy
    tools: dict[str, Any]
    store: ApprovalStore

    async def requirement(self, tool: str, args: dict[str, Any], requester: str) -> tuple[dict[str, Any], Any]:
        """The facts the tool looks up and what the policy requires for this request."""
        facts = await self.tools[tool].facts(args)
        req = await self.policy.decide(
            tool, args, requester=requester, confidence=1.0, facts=facts, directory=self.directory
        )
        return facts, req

    async def request(
        self, tool: str, args: dict[str, Any], requester: str, *, conversation: str, ttl: timedelta
    ) -> tuple[Any, Any]:
        """A pending approval as the agent records it, and the policy's requirement behind it."""
        facts, req = await self.requirement(tool, args, requester)
        spec = self.tools[tool]
        approval = self.store.create(
            tool=tool,
            args=args,
            requester=requester,
            rule_id=req.rule_id,
            mode=req.mode,
            reason=req.reason,
            title=spec.title(args),
            approvers=list(req.approvers),
            required=req.required,
            channel="local",
            conversation_ref={"conversation": conversation},
            ttl=ttl,
            facts=facts,
            state_facts=spec.state_facts,
        )
        return approval, req


@asynccontextmanager
async def sample_world(data_dir: Path) -> AsyncIterator[SampleWorld]:
    """The embedded SQLite database and directory in `data_dir`, with the sample ledger seeded."""
    engine = build_engine(f"sqlite:///{data_dir / 'deskhand.db'}")
    directory = build_directory(None, None, data_dir, DEFAULT_SAMPLE_DATA)
    try:
        sessions = build_sessionmaker(engine)
        with sessions.begin() as session:
            seed_ledger(session, DEFAULT_SAMPLE_DATA / "ledger.yaml")
        policy = Policy.load(DEFAULT_POLICY)
        tools = build_tools(ToolEnv(directory, Ledger(sessions), policy))
        yield SampleWorld(directory, policy, tools, ApprovalStore(sessions))
    finally:
        await directory.aclose()
        engine.dispose()
