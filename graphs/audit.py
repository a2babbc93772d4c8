"""The tamper-evident audit log: append-only entries, each sealed with the hash of the one before."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any, Final
from uuid import UUID

from sqlalchemy import BigInteger, DateTime, Integer, String, Text, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from tools.db import Base

KINDS: Final = frozenset(
    {
        "answer",
        "handoff",
        "tool_call",
        "policy_decision",
        "approval_requested",
        "approval_decision",
        "execution",
        "feedback",
        "error",
        "llm_budget_exhausted",  # LLM mode: a team's monthly budget is spent (once per team and month)
    }
)
GENESIS: Final = "0" * 64
MAX_PAYLOAD_CHARS: Final = 64_000
# One lock for every writer of the chain, whatever process it runs in ("deskhand" in ASCII).
_PG_LOCK_KEY: Final = 0x6465736B68616E64


class AuditRow(Base):
    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    id: Mapped[str] = mapped_column(String(32), unique=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(320))
    request_id: Mapped[str | None] = mapped_column(String(64), index=True)
    policy_version: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON, hashed exactly as stored
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


@dataclass(frozen=True)
class Entry:
    seq: int
    id: str
    at: datetime
    kind: str
    actor: str
    request_id: str | None
    policy_version: str | None
    payload: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int  # entries checked before the first problem (all of them when ok)
    first_bad_seq: int | None = None
    problem: str | None = None
    head_hash: str = GENESIS  # hash of the last good entry: record it elsewhere to detect truncation


def jsonable(value: Any) -> Any:
    """Plain JSON data for `value`: Decimals and dates become strings, tuples and sets lists."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("NaN and infinity have no JSON form")
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, UUID | Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((jsonable(v) for v in value), key=canonical_json)
    raise TypeError(f"{type(value).__name__} has no JSON form")


def canonical_json(value: Any) -> str:
    """One text per value: sorted keys, no spaces, non-ASCII escaped."""
    return json.dumps(jsonable(value), sort_keys=True, separators=(",", ":"))


def as_utc(moment: datetime) -> datetime:
    """An aware UTC datetime; naive values (SQLite hands those back) are taken as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def begin_serialised_write(session: Session) -> None:
    """Make this SQLite transaction a writer from the start (`BEGIN IMMEDIATE`); call it first thing.

    A deferred SQLite transaction that reads and then writes can fail with "database is locked" when
    another writer got in between; taking the write lock up front serialises writers instead.
    PostgreSQL needs nothing here.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.connection().exec_driver_sql("BEGIN IMMEDIATE")


def _seal(prev_hash: str, fields: Mapping[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical_json(fields)).encode("utf-8")).hexdigest()


def _fields(row: AuditRow) -> dict[str, Any]:
    return {
        "seq": row.seq,
        "id": row.id,
        "at": as_utc(row.at).isoformat(timespec="microseconds"),
        "kind": row.kind,
        "actor": row.actor,
        "request_id": row.request_id,
        "policy_version": row.policy_version,
        "payload": row.payload,
    }


def _entry(row: AuditRow) -> Entry:
    return Entry(
        seq=row.seq,
        id=row.id,
        at=as_utc(row.at),
        kind=row.kind,
        actor=row.actor,
        request_id=row.request_id,
        policy_version=row.policy_version,
        payload=json.loads(row.payload),
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


class AuditLog:
    """Appends to and checks the hash chain. Several processes may append at once."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def append(
        self,
        kind: str,
        *,
        actor: str,
        request_id: str | None = None,
        payload: Mapping[str, Any] | None = None,
        policy_version: str | None = None,
        now: datetime | None = None,
    ) -> str:
        """Add one entry at the end of the chain and return its id. Record only what's needed (PII)."""
        with self._sessions() as session, session.begin():
            begin_serialised_write(session)
            return self.append_in(
                session,
                kind,
                actor=actor,
                request_id=request_id,
                payload=payload,
                policy_version=policy_version,
                now=now,
            )

    @staticmethod
    def append_in(
        session: Session,
        kind: str,
        *,
        actor: str,
        request_id: str | None = None,
        payload: Mapping[str, Any] | None = None,
        policy_version: str | None = None,
        now: datetime | None = None,
    ) -> str:
        """`append` inside the caller's transaction, so a state change and its entry commit together
        (the caller has called `begin_serialised_write` first)."""
        if kind not in KINDS:
            raise ValueError(f"unknown audit kind {kind!r}")
        body = canonical_json(payload or {})
        if len(body) > MAX_PAYLOAD_CHARS:
            raise ValueError("audit payload too large")
        entry_id = "aud_" + secrets.token_urlsafe(12)
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        last = session.execute(select(AuditRow.seq, AuditRow.hash).order_by(AuditRow.seq.desc()).limit(1)).first()
        at = as_utc(now or datetime.now(UTC))
        row = AuditRow(
            seq=last.seq + 1 if last else 1,
            id=entry_id,
            at=at,
            kind=kind,
            actor=actor,
            request_id=request_id,
            policy_version=policy_version,
            payload=body,
            prev_hash=last.hash if last else GENESIS,
        )
        row.hash = _seal(row.prev_hash, _fields(row))
        session.add(row)
        session.flush()
        return entry_id

    def verify(self) -> VerifyResult:
        """Walk the chain from the start: any edited, deleted or reordered entry breaks it."""
        expected_seq, prev, checked = 1, GENESIS, 0
        with self._sessions() as session:
            rows = session.execute(select(AuditRow).order_by(AuditRow.seq).execution_options(yield_per=500)).scalars()
            for row in rows:
                problem = None
                if row.seq != expected_seq:
                    problem = (
                        f"entry {expected_seq} is missing (the next one is {row.seq})"
                        if row.seq > expected_seq
                        else f"entry {row.seq} is out of order"
                    )
                elif row.prev_hash != prev:
                    problem = f"entry {row.seq} does not link to entry {row.seq - 1}"
                elif _seal(row.prev_hash, _fields(row)) != row.hash:
                    problem = f"entry {row.seq} was changed after it was written"
                if problem:
                    return VerifyResult(False, checked, min(row.seq, expected_seq), problem, prev)
                prev, expected_seq, checked = row.hash, expected_seq + 1, checked + 1
        return VerifyResult(True, checked, head_hash=prev)

    def tail(self, n: int = 20) -> list[Entry]:
        """The latest `n` entries, oldest first."""
        with self._sessions() as session:
            rows = session.execute(select(AuditRow).order_by(AuditRow.seq.desc()).limit(max(n, 0))).scalars()
            return [_entry(row) for row in reversed(list(rows))]

    def get(self, entry_id: str) -> Entry | None:
        with self._sessions() as session:
            row = session.execute(select(AuditRow).where(AuditRow.id == entry_id)).scalar_one_or_none()
            return _entry(row) if row else None
