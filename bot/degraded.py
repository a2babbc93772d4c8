"""Answers while the SQL database is down.

A turn that failed because the database cannot be reached is run again on a second copy of the graph
that needs no database: conversation state in memory, audit entries spooled to a JSONL file in the data
folder, and every tool that changes something refusing at once. Handbook questions are answered (and
audited once the database is back: the spool is appended to the chain, in order, each entry under its
original id, so a replay cut short never writes one twice); anything that needs the database (requests,
approvals, look-ups in the ledger) gets the error message with its reference id.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from channels.base import InboundMessage, Reply
from graphs.agent import Agent
from graphs.context import AgentDeps
from graphs.governance.audit import AuditLog, begin_serialised_write, jsonable, new_entry_id
from tools.tool_spec import ToolContext, ToolResult

log = logging.getLogger(__name__)
PING_TIMEOUT_S = 2.0
DOWN_FOR_S = 10.0  # after an outage is seen, turns go straight to the degraded graph this long


class DatabaseDown(RuntimeError):
    """The SQL database cannot be reached; the step that needs it is refused."""


class AuditSpool:
    """Stands in for the audit log while the database is down: one JSON line per entry (fsynced)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def append(
        self,
        kind: str,
        *,
        actor: str,
        request_id: str | None = None,
        payload: Any = None,
        policy_version: str | None = None,
        now: datetime | None = None,
    ) -> str:
        entry_id = new_entry_id()
        at = (now or datetime.now(UTC)).isoformat()
        record = {"id": entry_id, "at": at, "kind": kind, "actor": actor, "request_id": request_id}
        record |= {"policy_version": policy_version, "payload": jsonable(payload or {})}
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
                fh.flush()
        return entry_id

    def append_in(self, session: Any, kind: str, **_: Any) -> str:
        raise DatabaseDown(f"cannot record {kind}: the database is unavailable")


def replay_spool(audit: AuditLog, path: Path) -> int:
    """Append the spooled entries to the chain (oldest first) and remove the spool; returns how many were
    new. Each keeps its id, so an entry already appended by an interrupted replay is skipped."""
    claimed = path.with_suffix(".replaying")
    if not claimed.exists():
        if not path.exists():
            return 0
        path.replace(claimed)  # new spooled entries go to a fresh file meanwhile
    added = 0
    for line in claimed.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        entry = json.loads(line)
        payload = {**entry["payload"], "spooled_at": entry["at"]}
        try:
            with audit.sessions() as session, session.begin():
                begin_serialised_write(session)
                audit.append_in(
                    session,
                    entry["kind"],
                    actor=entry["actor"],
                    request_id=entry["request_id"],
                    policy_version=entry["policy_version"],
                    payload=payload,
                    entry_id=entry["id"],
                )
            added += 1
        except IntegrityError:
            continue  # appended before an interruption
    claimed.unlink()
    if added:
        log.info("appended %d audit entries spooled while the database was down", added)
    return added


def _refusing(spec: Any) -> Any:
    async def refuse(_args: Any, _ctx: ToolContext) -> ToolResult:
        raise DatabaseDown(f"{spec.name} needs the database")

    return replace(spec, runner=refuse)


class ResilientAgent(Agent):
    """The agent, plus the degraded graph for turns that fail because the database is down."""

    def __init__(self, graph: Any, deps: AgentDeps, fanout: Any, *, engine: Any, spool: Path) -> None:
        super().__init__(graph, deps, fanout)
        from langgraph.checkpoint.memory import InMemorySaver

        from graphs.graph import build_agent

        self.engine, self.spool = engine, AuditSpool(spool)
        tools = {name: spec if spec.read_only else _refusing(spec) for name, spec in deps.tools.items()}
        degraded = replace(deps, audit=self.spool, tools=tools, handoffs=None)
        self.degraded = Agent(build_agent(InMemorySaver()), degraded, fanout)
        self._down_until = 0.0
        self.down_for_s = DOWN_FOR_S

    async def handle(self, message: InboundMessage) -> Reply:
        if time.monotonic() >= self._down_until:
            reply = await super().handle(message)
            if reply.route != "error":
                if self.spool.path.exists() or self.spool.path.with_suffix(".replaying").exists():
                    await self._replay()
                return reply
            if not await self._database_down():
                return reply
            self._down_until = time.monotonic() + self.down_for_s
            log.warning("the database is unreachable: answering without it for %ss", self.down_for_s)
        return await self.degraded.handle(message)

    async def _database_down(self) -> bool:
        def ping() -> None:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))

        try:
            await asyncio.wait_for(asyncio.to_thread(ping), PING_TIMEOUT_S)
        except Exception:
            return True
        return False

    async def _replay(self) -> None:
        try:
            chain = cast(AuditLog, self.deps.audit)  # the live agent's deps hold the real chain, never the spool
            await asyncio.to_thread(replay_spool, chain, self.spool.path)
        except Exception:
            log.warning("appending the spooled audit entries failed; will retry after the next turn", exc_info=True)
