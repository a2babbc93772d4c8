"""The tamper-evident audit log: append-only entries, each sealed with the hash of the one before."""

from __future__ import annotations

import hashlib
import hmac
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

from tools.storage.db import Base

KINDS: Final = frozenset(
    {
        "answer",
        "handoff",
        "tool_call",
        "policy_decision",
        "approval_requested",
        "approval_decision",
        "approval_joined",  # an identical request joined a pending approval instead of asking again
        "execution",
        "feedback",
        "error",
        "llm_budget_exhausted",  # LLM mode: a team's monthly budget is spent (once per team and month)
    }
)
GENESIS: Final = "0" * 64
# Used only when no DESKHAND_AUDIT_KEY is configured (development and tests; production refuses to start
# without a key). It is public, so a chain sealed with it is only as strong as an unkeyed hash.
DEVELOPMENT_KEY: Final = b"deskhand-development-audit-key-not-secret"
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


def new_entry_id() -> str:
    return "aud_" + secrets.token_urlsafe(12)


def _seal(key: bytes, prev_hash: str, fields: Mapping[str, Any]) -> str:
    """HMAC-SHA256 under the audit key: whoever can write the table but lacks the key can't re-seal."""
    return hmac.new(key, (prev_hash + canonical_json(fields)).encode("utf-8"), hashlib.sha256).hexdigest()


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
    """Appends to and checks the keyed hash chain. Several processes may append at once."""

    def __init__(self, sessions: sessionmaker[Session], key: bytes = DEVELOPMENT_KEY) -> None:
        if not key:
            raise ValueError("the audit key must not be empty")
        self._sessions = sessions
        self._key = key

    @property
    def sessions(self) -> sessionmaker[Session]:
        return self._sessions

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
        """Add one entry at the end of the chain in its own transaction and return its id."""
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

    def append_in(
        self,
        session: Session,
        kind: str,
        *,
        actor: str,
        request_id: str | None = None,
        payload: Mapping[str, Any] | None = None,
        policy_version: str | None = None,
        now: datetime | None = None,
        entry_id: str | None = None,
    ) -> str:
        """Add one entry inside the caller's transaction, so it commits (or not) with the state change it
        records. Record only what's needed (PII). On SQLite the caller must have begun the transaction
        with `begin_serialised_write`."""
        if kind not in KINDS:
            raise ValueError(f"unknown audit kind {kind!r}")
        body = canonical_json(payload or {})
        if len(body) > MAX_PAYLOAD_CHARS:
            raise ValueError("audit payload too large")
        entry_id = entry_id or new_entry_id()
        if session.get_bind().dialect.name == "postgresql":
            # Held to the end of the caller's transaction: appends from every process form one chain.
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
        row.hash = _seal(self._key, row.prev_hash, _fields(row))
        session.add(row)
        session.flush()
        return entry_id

    def verify(self, anchors: Mapping[int, str] | None = None) -> VerifyResult:
        """Walk the chain from the start: any edited, deleted or reordered entry breaks it. With
        `anchors` (seq → head hash recorded outside the database) a cut-off end or a chain rebuilt
        from some entry on is found too."""
        expected_seq, prev, checked = 1, GENESIS, 0
        pending = dict(anchors or {})
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
                elif not hmac.compare_digest(_seal(self._key, row.prev_hash, _fields(row)), row.hash):
                    problem = f"entry {row.seq} was changed after it was written"
                elif row.seq in pending and pending.pop(row.seq) != row.hash:
                    problem = f"entry {row.seq} differs from the anchored head hash"
                if problem:
                    return VerifyResult(False, checked, min(row.seq, expected_seq), problem, prev)
                prev, expected_seq, checked = row.hash, expected_seq + 1, checked + 1
        if pending:
            lost = min(pending)
            return VerifyResult(
                False, checked, lost, f"entry {lost} was anchored but is gone (the log was cut off)", prev
            )
        return VerifyResult(True, checked, head_hash=prev)

    def head(self) -> tuple[int, str]:
        """(seq, hash) of the newest entry, (0, GENESIS) when empty."""
        with self._sessions() as session:
            last = session.execute(select(AuditRow.seq, AuditRow.hash).order_by(AuditRow.seq.desc()).limit(1)).first()
        return (last.seq, last.hash) if last else (0, GENESIS)

    def tail(self, n: int = 20) -> list[Entry]:
        """The latest `n` entries, oldest first."""
        with self._sessions() as session:
            rows = session.execute(select(AuditRow).order_by(AuditRow.seq.desc()).limit(max(n, 0))).scalars()
            return [_entry(row) for row in reversed(list(rows))]

    def get(self, entry_id: str) -> Entry | None:
        with self._sessions() as session:
            row = session.execute(select(AuditRow).where(AuditRow.id == entry_id)).scalar_one_or_none()
            return _entry(row) if row else None
