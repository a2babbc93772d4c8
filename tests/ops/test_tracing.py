"""OpenTelemetry traces with real parts: `deskhand serve` (and the in-process runtime) export over OTLP/HTTP to a
local receiver that decodes the protobuf; the span tree and its request id are checked against the audit
log and the JSON log lines; a collector that hangs or is down never holds up a turn."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.jobs import build_registry
from bot.metrics import Metrics
from bot.queue import run_job
from bot.settings import Settings, SettingsError, load_settings
from bot.wiring import open_runtime, start_tracing
from bot.worker import build_job_context, schedule_of
from channels.context import request_scope
from tests.channels.slack.support import event_callback, mention, sign, wait_for
from tests.emulators.otlp_collector import OtlpCollector, ReceivedSpan
from tests.emulators.slack_api import SlackApiEmulator, slack_id
from tests.ops.conftest import CAROL, DAN, HECTOR, say
from tests.test_serve import READY, serve_env
from tools import tracing

pytestmark = pytest.mark.timeout(600)
SERVER, CONSUMER = 2, 5  # OTLP SpanKind values


@pytest.fixture
async def collector() -> AsyncIterator[OtlpCollector]:
    c = OtlpCollector()
    await c.start()
    yield c
    await c.stop()


def _start_serve(env: dict[str, str]) -> tuple[subprocess.Popen[str], str, list[str]]:
    """`deskhand serve --port 0`, its address, and every line it writes (read on a thread)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--port", "0"],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    lines: list[str] = []
    assert proc.stdout is not None
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        found = READY.search(line)
        if found:
            threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True).start()  # type: ignore[arg-type]
            return proc, found.group(1), lines
    proc.kill()
    raise AssertionError("deskhand serve did not start:\n" + "".join(lines[-30:]))


def _trace_of(spans: list[ReceivedSpan], trace_id: str) -> list[ReceivedSpan]:
    return [s for s in spans if s.trace_id == trace_id]


async def test_a_slack_turn_in_serve_is_one_trace_with_the_request_id_of_its_audit_entry_and_log_line(
    tmp_path: Path, sample_index: Path, redis_url: str, collector: OtlpCollector
):
    slack = SlackApiEmulator()
    env = serve_env(tmp_path, sample_index, await slack.start(), redis_url)
    env |= {
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url,
        "OTEL_SERVICE_NAME": "deskhand-test",
        "DESKHAND_LOG_LEVEL": "INFO",
        "DESKHAND_LOG_FORMAT": "json",
    }
    proc, url, lines = await asyncio.to_thread(_start_serve, env)
    try:
        event = mention(slack_id("bob.martin@example.com"), "how many PTO days do I get per year?")
        body = json.dumps(event_callback(event))
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"{url}/slack/events", data=body, headers={"Content-Type": "application/json", **sign(body)}
            ) as response,
        ):
            assert response.status == 200
            rid = response.headers["X-Request-Id"]
        turn = (await wait_for(lambda: collector.named("turn"), timeout=60))[0]
    finally:
        proc.terminate()
        await asyncio.to_thread(proc.wait, 30)
        await slack.stop()

    # The tree: the Slack request (the ack) → the turn run after it → the graph's nodes.
    assert turn.attributes["deskhand.channel"] == "slack" and turn.attributes["deskhand.route"] == "answer"
    assert turn.service == "deskhand-test"
    request = next(s for s in collector.spans if s.span_id == turn.parent_id)
    assert request.name == "POST /slack/events" and request.kind == SERVER
    assert request.attributes["http.response.status_code"] == 200 and request.parent_id == ""
    nodes = {s.name for s in collector.children(turn)}
    assert {"node understand", "node answer"} <= nodes
    trace = _trace_of(collector.spans, turn.trace_id)
    assert {s.attributes.get("deskhand.request_id") for s in trace} == {rid}

    # The same id in the audit entry of the answer and in the JSON log line that reported it.
    with sqlite3.connect(tmp_path / "data" / "deskhand.db") as db:
        audited = db.execute("SELECT request_id FROM audit_log WHERE kind = 'answer'").fetchall()
    assert audited == [(rid,)]
    records = [json.loads(line) for line in lines if line.startswith("{")]
    audit_lines = [r for r in records if r.get("logger") == "deskhand.audit" and r.get("kind") == "answer"]
    assert [r["request_id"] for r in audit_lines] == [rid]


@pytest.fixture
def traced_settings(tmp_path: Path, sample_index: Path, collector: OtlpCollector) -> Settings:
    return Settings(  # type: ignore[call-arg]
        data_dir=tmp_path / "data", index_dir=sample_index, OTEL_EXPORTER_OTLP_ENDPOINT=collector.url
    )


async def test_approval_decisions_tool_calls_directory_calls_and_jobs_are_spans(
    traced_settings: Settings, embedder: Any, collector: OtlpCollector
):
    metrics = Metrics()
    async with open_runtime(traced_settings, embedder=embedder, metrics=metrics) as rt:
        with request_scope("turn-request-1"):
            reply = await say(rt, HECTOR, "put a hold on invoice INV-10077")
        assert reply.approval is not None
        approval_id = reply.approval.approval_id
        ctx = build_job_context(traced_settings, rt, None, metrics)
        spec = build_registry(schedule_of(traced_settings))["escalate_approval"]
        await run_job(spec, ctx, {"approval_id": approval_id, "request_id": "job-request-1"})
        for n, approver in enumerate((CAROL, DAN)):
            with request_scope(f"click-{n}"):
                outcome = await rt.agent.decide(approval_id, approver, True)
            assert outcome.accepted
    # Leaving the runtime flushed the queue: every span is at the receiver now.
    assert not tracing.enabled()

    turn = next(s for s in collector.named("turn") if s.attributes["deskhand.request_id"] == "turn-request-1")
    below_turn = {s.name for s in collector.children(turn)}
    assert {"node understand", "node policy", "node request_approval"} <= below_turn
    assert turn.attributes["deskhand.route"] == "approval"

    job = collector.named("job escalate_approval")[0]
    assert job.kind == CONSUMER and job.attributes["deskhand.request_id"] == "job-request-1"
    assert any(s.name.startswith("scim ") for s in _trace_of(collector.spans, job.trace_id))  # approvers looked up

    decisions = collector.named("approval decide")
    assert [d.attributes["deskhand.request_id"] for d in decisions] == ["click-0", "click-1"]
    assert all(d.attributes["deskhand.approval_id"] == approval_id for d in decisions)
    second = _trace_of(collector.spans, decisions[1].trace_id)
    tool = next(s for s in second if s.name == "tool hold_payment")
    assert tool.attributes["deskhand.ok"] is True and tool.attributes["deskhand.request_id"] == "click-1"
    execute = next(s for s in second if s.span_id == tool.parent_id)
    assert execute.name == "node execute"
    # The execution's audit entry carries the approval run's own request id; the node span names it.
    with rt.sessions() as session:
        from graphs.governance.audit import AuditRow

        executed = {row.request_id for row in session.query(AuditRow).filter(AuditRow.kind == "execution")}
    assert executed == {execute.attributes["deskhand.audit_request_id"]}


async def test_a_hanging_collector_never_holds_up_a_turn(
    traced_settings: Settings, embedder: Any, collector: OtlpCollector
):
    collector.hold_requests = True  # accepts the connection, never answers until released
    patient = traced_settings.model_copy(update={"trace_export_timeout_seconds": 60.0})  # no retry meanwhile
    async with open_runtime(patient, embedder=embedder) as rt:
        first = await say(rt, HECTOR, "how many PTO days do I get per year?")
        assert first.route == "answer"
        await wait_for(lambda: collector.held, timeout=30)  # an export is now stuck in the collector
        later = [await say(rt, HECTOR, "when are vendor payment runs?", key=f"c{i}") for i in range(3)]
        assert [r.route for r in later] == ["answer"] * 3  # answered while the export hangs
        assert collector.held == 1 and not collector.spans
        collector.release()
    assert collector.named("turn")  # released, the queued spans still arrive


async def test_a_collector_that_is_down_or_failing_changes_nothing_for_users(
    tmp_path: Path, sample_index: Path, embedder: Any, collector: OtlpCollector
):
    collector.fail_with = 503
    closed_port = "http://127.0.0.1:9"  # discard port: nothing listens
    for endpoint in (collector.url, closed_port):
        settings = Settings(  # type: ignore[call-arg]
            data_dir=tmp_path / "data",
            index_dir=sample_index,
            OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
            trace_export_timeout_seconds=1.0,
        )
        async with open_runtime(settings, embedder=embedder) as rt:
            replies = [await say(rt, HECTOR, "how many PTO days do I get per year?", key=f"d{i}") for i in range(3)]
            assert [r.route for r in replies] == ["answer"] * 3
    assert collector.requests >= 1 and not collector.spans


def test_tracing_is_off_without_an_endpoint_and_imports_no_exporter():
    code = (
        "import sys; from bot.settings import Settings; from bot.wiring import start_tracing; "
        "from tools import tracing; from graphs.graph import build_graph; from graphs import nodes; "
        "assert start_tracing(Settings()) is None and not tracing.enabled(); "
        "g = build_graph(); assert g.nodes['answer'].runnable.afunc is nodes.answer; "
        "print(sorted(m for m in sys.modules if m == 'bot.otel' or m.startswith('opentelemetry.exporter')))"
    )
    # (langsmith, which LangChain imports, loads opentelemetry.sdk.trace by itself when the SDK is installed.)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]"


def test_settings_follow_the_standard_otlp_variables(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")
    assert load_settings().traces_endpoint == "http://collector:4318/v1/traces"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "https://traces.example.com/otlp")
    assert load_settings().traces_endpoint == "https://traces.example.com/otlp"  # used as is
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert load_settings().traces_endpoint is None
    assert start_tracing(load_settings()) is None
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318")
    with pytest.raises(SettingsError, match="OTEL_EXPORTER_OTLP_ENDPOINT"):
        load_settings()
