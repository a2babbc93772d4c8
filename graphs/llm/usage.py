"""Token usage per request, user and team in SQL, its cost from a price table, and per-team monthly
budgets: a team whose budget is spent gets the offline engine, and its admins are told once a month."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Float, Integer, String, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column, sessionmaker
from sqlalchemy.types import JSON

from graphs.llm.client import UsageEvent
from tools.storage.db import Base
from tools.yaml_text import parse_yaml

log = logging.getLogger(__name__)
MILLION = Decimal(1_000_000)


class UsageRow(Base):
    __tablename__ = "llm_usage"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    model: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(String(32))
    user: Mapped[str | None] = mapped_column(String(320))
    team: Mapped[str | None] = mapped_column(String(200))
    input_tokens: Mapped[int] = mapped_column(Integer)
    output_tokens: Mapped[int] = mapped_column(Integer)
    latency_ms: Mapped[float] = mapped_column(Float)


class BudgetNoticeRow(Base):
    __tablename__ = "llm_budget_notices"
    team: Mapped[str] = mapped_column(String(200), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    admins: Mapped[list[str]] = mapped_column(JSON)


@dataclass(frozen=True)
class Prices:
    """USD per million tokens per `provider:model` (evals/prices.yaml's format)."""

    table: dict[str, tuple[Decimal, Decimal]]

    @classmethod
    def load(cls, path: Path) -> Prices:
        data = parse_yaml(path.read_text(encoding="utf-8")) or {}
        table = {
            str(model): (Decimal(str(p["input"])), Decimal(str(p["output"])))
            for model, p in (data.get("models") or {}).items()
        }
        return cls(table)

    def cost(self, model: str, input_tokens: int, output_tokens: int) -> Decimal | None:
        price = self.table.get(model)
        if price is None:
            return None
        return (input_tokens * price[0] + output_tokens * price[1]) / MILLION


@dataclass(frozen=True)
class UsageLine:
    key: str  # the team, user or model the line is about
    model: str
    calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: Decimal | None


def month_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


class UsageStore:
    """Writes one row per model call and answers `deskhand usage` and the budget check."""

    def __init__(self, sessions: sessionmaker[Any], prices: Prices, clock: Callable[[], datetime]) -> None:
        self.sessions, self.prices, self.clock = sessions, prices, clock

    def add(self, event: UsageEvent, team: str | None) -> None:
        with self.sessions.begin() as s:
            s.add(
                UsageRow(
                    at=self.clock(),
                    model=event.model,
                    purpose=event.purpose,
                    user=event.user,
                    team=team,
                    input_tokens=event.input_tokens,
                    output_tokens=event.output_tokens,
                    latency_ms=event.latency_ms,
                )
            )

    def lines(self, since: datetime | None = None, by: str = "team") -> list[UsageLine]:
        column = {"team": UsageRow.team, "user": UsageRow.user, "model": UsageRow.model}[by]
        query = select(
            column,
            UsageRow.model,
            func.count(),
            func.sum(UsageRow.input_tokens),
            func.sum(UsageRow.output_tokens),
        ).group_by(column, UsageRow.model)
        if since is not None:
            query = query.where(UsageRow.at >= since)
        with self.sessions() as s:
            rows = s.execute(query.order_by(column, UsageRow.model)).all()
        return [
            UsageLine(
                str(key or "-"),
                model,
                int(n),
                int(i or 0),
                int(o or 0),
                self.prices.cost(model, int(i or 0), int(o or 0)),
            )
            for key, model, n, i, o in rows
        ]

    def spent(self, team: str, since: datetime) -> Decimal:
        """What the team spent since `since` (models missing from the price table count as free)."""
        lines = [line for line in self.lines(since, "team") if line.key == team]
        return sum((line.cost_usd or Decimal(0) for line in lines), Decimal(0))

    def claim_notice(self, team: str, month: str, admins: list[str]) -> bool:
        """True for exactly one caller per team and month (the primary key decides)."""
        try:
            with self.sessions.begin() as s:
                s.add(BudgetNoticeRow(team=team, month=month, at=self.clock(), admins=admins))
            return True
        except IntegrityError:
            return False


TeamOf = Callable[[str | None], Awaitable[str | None]]
Notify = Callable[[str, list[str], Decimal, Decimal], Awaitable[None]]  # team, admins, spent, budget


class Budgets:
    """The client's gate (refuse when the user's team spent its month) and sink (record each call)."""

    def __init__(
        self,
        store: UsageStore,
        budgets: dict[str, float],
        team_of: TeamOf,
        admins_of: Callable[[str], Awaitable[list[str]]],
        notify: Notify,
    ) -> None:
        self.store, self.budgets = store, {k: Decimal(str(v)) for k, v in budgets.items()}
        self.team_of, self.admins_of, self.notify = team_of, admins_of, notify

    async def gate(self, user: str | None) -> str | None:
        team = await self.team_of(user)
        if team is None or team not in self.budgets:
            return None
        now = self.store.clock()
        spent = await asyncio.to_thread(self.store.spent, team, month_start(now))
        if spent < self.budgets[team]:
            return None
        admins = await self.admins_of(team)
        if await asyncio.to_thread(self.store.claim_notice, team, now.strftime("%Y-%m"), admins):
            await self.notify(team, admins, spent, self.budgets[team])
        return "team budget spent"

    async def sink(self, event: UsageEvent) -> None:
        team = await self.team_of(event.user)
        await asyncio.to_thread(self.store.add, event, team)
