"""The plain result types every suite returns and every report reads."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class CaseResult:
    """One case's outcome. `scores` maps a metric name (without the suite prefix) to this case's share of
    it (0..1), so a failing metric can name its worst cases."""

    id: str
    tags: list[str]
    passed: bool
    detail: str = ""  # why it failed, in one line (empty when it passed)
    scores: dict[str, float] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)  # what was asked and what came back

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Turn:
    """One agent call, for latency per route."""

    route: str
    ms: float


@dataclass
class SuiteResult:
    name: str
    metrics: dict[str, float] = field(default_factory=dict)
    cases: list[CaseResult] = field(default_factory=list)
    turns: list[Turn] = field(default_factory=list)
    tables: dict[str, Any] = field(default_factory=dict)  # e.g. the routing confusion table
    skipped: str | None = None  # why the suite did not run
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[CaseResult]:
        return [c for c in self.cases if not c.passed]


@dataclass
class Usage:
    """LLM tokens spent during a run (zero for the offline engine)."""

    input_tokens: int = 0
    output_tokens: int = 0
    calls: int = 0
    turns: int = 0  # agent turns in the run, the denominator of "per 1,000 runs"
    model: str | None = None
