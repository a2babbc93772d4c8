"""Prometheus metrics of one process: counters and histograms others increment, sampled gauges, `/metrics`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.openmetrics import exposition as openmetrics

from channels.context import current_request_id

log = logging.getLogger(__name__)

# Chat latencies live between a few milliseconds and a few seconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
JOB_BUCKETS = (0.05, 0.25, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)
SAMPLE_TIMEOUT_S = 2.0
Sampler = Callable[[], Awaitable[Mapping[tuple[str, ...], float]]]


class Metrics:
    """One registry per process (never the global one), so tests and processes never share counters.

    Counters are public attributes: increment them where the event happens, e.g.
    `metrics.llm_tokens.labels(model="openai:gpt-4o-mini", kind="prompt").inc(n)`.
    """

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.turns = Counter("deskhand_turns", "Agent turns by channel and route", ["channel", "route"], registry=r)
        self.turn_seconds = Histogram(
            "deskhand_turn_seconds", "Agent turn latency", ["channel"], buckets=LATENCY_BUCKETS, registry=r
        )
        self.http_requests = Counter(
            "deskhand_http_requests",
            "HTTP requests (a Slack event's response is its ack)",
            ["route", "status"],
            registry=r,
        )
        self.http_seconds = Histogram(
            "deskhand_http_request_seconds", "HTTP request latency (ack latency for the channel endpoints)",
            ["route"], buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.dedup_hits = Counter(
            "deskhand_dedup_hits", "Events and clicks dropped as already claimed (platform retries)", registry=r
        )
        self.approvals = Counter(
            "deskhand_approval_transitions", "Approvals requested and their status changes", ["status"], registry=r
        )
        self.tool_calls = Counter("deskhand_tool_calls", "Tool executions", ["tool", "outcome"], registry=r)
        self.audit_entries = Counter("deskhand_audit_entries", "Audit entries written", ["kind"], registry=r)
        self.jobs = Counter("deskhand_jobs", "Background jobs run", ["job", "outcome"], registry=r)
        self.job_seconds = Histogram(
            "deskhand_job_seconds", "Background job run time", ["job"], buckets=JOB_BUCKETS, registry=r
        )
        self.job_lateness = Histogram(
            "deskhand_job_lateness_seconds", "How late a job started after its due time", ["job"],
            buckets=JOB_BUCKETS, registry=r,
        )  # fmt: skip
        self.llm_tokens = Counter(
            "deskhand_llm_tokens", "LLM tokens used (kind: prompt | completion)", ["model", "kind"], registry=r
        )
        self._sampled: list[tuple[Gauge, Sampler]] = []

    def sampled_gauge(self, name: str, doc: str, labels: list[str], sampler: Sampler) -> None:
        """A gauge read at scrape time from `sampler` (e.g. approvals by status, queue depth)."""
        self._sampled.append((Gauge(name, doc, labels, registry=self.registry), sampler))

    def observe(self, histogram: Histogram, seconds: float, **labels: str) -> None:
        """Observe with the current request id as an exemplar, so a slow bucket leads to its logs."""
        rid = current_request_id()
        target: Any = histogram.labels(**labels) if labels else histogram
        target.observe(seconds, exemplar={"request_id": rid} if rid else None)

    def on_audit(self, kind: str, payload: Mapping[str, Any]) -> None:
        """Derive counters from what the audit log records (one place sees every decision and execution)."""
        self.audit_entries.labels(kind=kind).inc()
        if kind == "execution":
            self.tool_calls.labels(tool=str(payload.get("tool")), outcome="ok" if payload.get("ok") else "failed").inc()
        elif kind == "approval_requested":
            self.approvals.labels(status="pending").inc()
        elif kind == "approval_decision" and payload.get("became"):
            self.approvals.labels(status=str(payload["became"])).inc()

    async def _sample(self) -> None:
        for gauge, sampler in self._sampled:
            try:
                values = await asyncio.wait_for(sampler(), SAMPLE_TIMEOUT_S)
            except Exception:
                log.warning("metrics sampler %s failed", gauge, exc_info=True)
                continue
            gauge.clear()
            for labels, value in values.items():
                (gauge.labels(*labels) if labels else gauge).set(value)

    async def render(self, accept: str = "") -> tuple[bytes, str]:
        """The exposition: OpenMetrics (with exemplars) when the scraper asks for it, else text 0.0.4."""
        await self._sample()
        if "application/openmetrics-text" in accept:
            return openmetrics.generate_latest(self.registry), openmetrics.CONTENT_TYPE_LATEST
        return generate_latest(self.registry), "text/plain; version=0.0.4; charset=utf-8"


def observed_audit_log(sessions: Any, metrics: Metrics, key: bytes | None = None) -> Any:
    """An AuditLog that also counts each entry and logs it (kind, id, request id) for log-based tracing.
    Entries written inside a state change's transaction (`append_in`) are counted too."""
    from graphs.governance.audit import AuditLog

    audit_log = logging.getLogger("deskhand.audit")

    class ObservedAuditLog(AuditLog):
        def append_in(self, session: Any, kind: str, **kwargs: Any) -> str:
            entry_id = super().append_in(session, kind, **kwargs)
            metrics.on_audit(kind, kwargs.get("payload") or {})
            audit_log.info(
                "audit %s %s",
                kind,
                entry_id,
                extra={"audit_id": entry_id, "kind": kind, "audit_request_id": kwargs.get("request_id")},
            )
            return entry_id

    return ObservedAuditLog(sessions, key) if key else ObservedAuditLog(sessions)
