"""Several web processes behind one address behave as one: the Procfile run by honcho (2 web + 1 worker) on
PostgreSQL and Redis, a round-robin proxy in front, Slack's retries spread across the processes."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import psycopg
import pytest

from channels.slack.actions import APPROVE
from tests.channels.slack.support import SIGNING_SECRET, click, event_callback, mention, sign, wait_for
from tests.conftest import postgres_schema
from tests.emulators.slack_api import BOT_TOKEN, SlackApiEmulator, slack_id
from tests.ops.processes import LoggedProcess, deskhand
from tests.ops.proxy import RoundRobinProxy

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(900)]
ROOT = Path(__file__).resolve().parents[2]
BOB, HECTOR, CAROL, DAN = (
    "bob.martin@example.com",
    "hector.ruiz@example.com",
    "carol.diaz@example.com",
    "dan.okafor@example.com",
)
APPROVAL_ID = re.compile(r"apr_[A-Za-z0-9_-]{10}")


def _free_base_port() -> int:
    """A port P with P, P+1 (web.1, web.2) and P+100 (worker.1) free: honcho's port layout."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        if base > 64000:
            continue
        try:
            for port in (base, base + 1, base + 100):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no free port range")


@dataclass
class Cluster:
    honcho: LoggedProcess
    webs: list[str]
    proxy: RoundRobinProxy
    slack: SlackApiEmulator
    http: aiohttp.ClientSession
    db_url: str

    async def event(self, event: dict[str, Any], event_id: str, retry: int | None = None) -> aiohttp.ClientResponse:
        body = json.dumps(event_callback(event, event_id))
        headers = {"Content-Type": "application/json", **sign(body)}
        if retry is not None:
            headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        async with self.http.post(f"{self.proxy.url}/slack/events", data=body, headers=headers) as response:
            await response.read()
            return response

    async def click(self, payload: dict[str, Any]) -> int:
        body = urlencode({"payload": json.dumps(payload)})
        headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
        async with self.http.post(f"{self.proxy.url}/slack/events", data=body, headers=headers) as response:
            return response.status

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.db_url, autocommit=True, connect_timeout=5) as conn:
            return list(conn.execute(sql, params).fetchall())  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def cluster_db(pg_base_url: str) -> Iterator[str]:
    with postgres_schema(pg_base_url, "cl") as url:
        yield url


@pytest.fixture(scope="module")
async def cluster(
    tmp_path_factory: pytest.TempPathFactory, sample_index: Path, redis_url: str, cluster_db: str, scim_server_url: str
) -> AsyncIterator[Cluster]:
    slack = SlackApiEmulator()
    slack_url = await slack.start()
    tmp = tmp_path_factory.mktemp("cluster")
    env = {
        **os.environ,
        "DATABASE_URL": cluster_db,
        "REDIS_URL": redis_url,
        "DESKHAND_SCIM_URL": scim_server_url,
        "DESKHAND_DATA_DIR": str(tmp / "data"),
        "DESKHAND_INDEX_DIR": str(sample_index),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack_url,
        "DESKHAND_APPROVAL_TTL_MINUTES": "1",
        "DESKHAND_REMINDER_BEFORE_MINUTES": "1",  # due as soon as the approval exists
        "DESKHAND_WORKER_HEARTBEAT_SECONDS": "2",
        "DESKHAND_LOG_LEVEL": "INFO",
        "DESKHAND_LOG_FORMAT": "json",
    }
    upgraded = await asyncio.to_thread(
        subprocess.run, deskhand("db", "upgrade"), env=env, capture_output=True, text=True, timeout=300
    )
    assert upgraded.returncode == 0, upgraded.stderr
    base = _free_base_port()
    honcho = LoggedProcess(
        ["honcho", "start", "-f", str(ROOT / "Procfile"), "-d", str(ROOT), "-p", str(base), "-c", "web=2,worker=1"],
        env,
    )
    try:
        for web in ("web.1", "web.2"):  # both processes print their address (port = honcho's PORT)
            await asyncio.to_thread(honcho.wait_line, rf"{web} .*Deskhand listening on http://", 300)
        await asyncio.to_thread(honcho.wait_line, r"worker\.1 .*Deskhand worker started", 300)
        webs = [f"http://127.0.0.1:{base}", f"http://127.0.0.1:{base + 1}"]
        proxy = RoundRobinProxy(webs)
        await proxy.start()
        async with aiohttp.ClientSession() as http:
            yield Cluster(honcho, webs, proxy, slack, http, cluster_db.replace("postgresql+psycopg", "postgresql"))
        await proxy.stop()
    finally:
        honcho.stop()
        await slack.stop()


async def test_retries_spread_across_processes_get_exactly_one_reply(cluster: Cluster):
    events = [mention(slack_id(BOB), f"how many PTO days do I get per year? ({n})") for n in range(8)]
    ids = [f"Ev{uuid.uuid4().hex[:12].upper()}" for _ in events]
    before = dict(cluster.proxy.served)
    deliveries = [cluster.event(e, i, retry=r) for e, i in zip(events, ids, strict=True) for r in (None, 1, 2, 3)]
    responses = await asyncio.gather(*deliveries)
    assert {r.status for r in responses} == {200}
    assert all(cluster.proxy.served[w] - before.get(w, 0) >= 8 for w in cluster.webs), "both processes got retries"
    for e in events:
        await wait_for(
            lambda e=e: [m for m in cluster.slack.thread(e["channel"], e["ts"]) if "[1]" in json.dumps(m)], 90
        )
    # Every delivery was claimed before it was acknowledged, so once each answer is there every
    # duplicate has already been judged: counting now is final.
    for e in events:
        # What the user sees: one message from Deskhand in the thread (a post, or a stream where Slack has them).
        assert len(cluster.slack.thread(e["channel"], e["ts"])) == 1, "one reply per event across processes"


async def test_an_approval_is_decided_on_any_process_and_runs_once(cluster: Cluster):
    ask = mention(slack_id(HECTOR), "put a hold on invoice INV-10077")
    await cluster.event(ask, f"Ev{uuid.uuid4().hex[:12].upper()}")
    card = await wait_for(
        lambda: [p for p in cluster.slack.posts(ask["channel"], ask["ts"]) if APPROVE in json.dumps(p.params)], 90
    )
    approval_id = APPROVAL_ID.search(json.dumps(card[0].params)).group(0)  # type: ignore[union-attr]
    ts = card[0].response["ts"]
    clicks = [
        cluster.click(click(slack_id(who), APPROVE, approval_id, channel=ask["channel"], message_ts=ts))
        for who in (CAROL, DAN)
        for _ in range(3)  # each click delivered three times, landing on both processes
    ]
    assert set(await asyncio.gather(*clicks)) == {200}
    # An execution writes two audit entries: "started" when it claims the approval, "finished" with
    # the status change. Wait for the finished one, so the status read below is not a race.
    sql = "SELECT count(*) FROM audit_log WHERE kind='execution' AND payload LIKE %s AND payload LIKE %s"
    finished = await wait_for(lambda: [n for (n,) in cluster.query(sql, f'%"{approval_id}"%', '%"finished"%') if n], 90)
    assert cluster.query("SELECT status FROM approvals WHERE id=%s", approval_id) == [("executed",)]
    # Every click was claimed before it was acknowledged: nothing more can run after this point.
    assert finished == [1]
    assert cluster.query(sql, f'%"{approval_id}"%', '%"started"%') == [(1,)]


async def test_one_request_id_in_the_ack_the_logs_the_metrics_and_the_audit_entry(cluster: Cluster):
    ask = mention(slack_id(BOB), "when are vendor payment runs?")
    ack = await cluster.event(ask, f"Ev{uuid.uuid4().hex[:12].upper()}")
    rid = ack.headers["X-Request-Id"]

    def finished() -> list[dict[str, Any]]:  # a cited answer whose live stream has ended
        thread = cluster.slack.thread(ask["channel"], ask["ts"])
        return [m for m in thread if "[1]" in json.dumps(m) and not m.get("streaming")]

    await wait_for(finished, 90)
    audited = cluster.query("SELECT kind FROM audit_log WHERE request_id=%s", rid)
    assert ("answer",) in audited
    logged = [json.loads(line.split("| ", 1)[1]) for line in cluster.honcho.lines if rid in line and "| {" in line]
    assert any(entry.get("kind") == "answer" and entry.get("request_id") == rid for entry in logged)
    assert any(entry.get("logger") == "deskhand.access" for entry in logged)
    scrapes = []
    for web in cluster.webs:
        async with cluster.http.get(f"{web}/metrics", headers={"Accept": "application/openmetrics-text"}) as r:
            scrapes.append(await r.text())
    assert any(f'request_id="{rid}"' in text for text in scrapes), "the turn's exemplar carries its request id"
    assert all("deskhand_turns_total" in text and "deskhand_dedup_hits_total" in text for text in scrapes)


async def test_the_worker_reminds_then_expires_an_undecided_approval(cluster: Cluster):
    ask = mention(slack_id(HECTOR), "put a hold on invoice INV-10042")
    await cluster.event(ask, f"Ev{uuid.uuid4().hex[:12].upper()}")
    card = await wait_for(
        lambda: [p for p in cluster.slack.posts(ask["channel"], ask["ts"]) if APPROVE in json.dumps(p.params)], 90
    )
    approval_id = APPROVAL_ID.search(json.dumps(card[0].params)).group(0)  # type: ignore[union-attr]
    await wait_for(
        lambda: [p for p in cluster.slack.posts(ask["channel"], ask["ts"]) if "Reminder" in json.dumps(p.params)], 60
    )
    ((expires_at,),) = cluster.query("SELECT expires_at FROM approvals WHERE id=%s", approval_id)
    told = await wait_for(
        lambda: [p for p in cluster.slack.posts(ask["channel"], ask["ts"]) if "expired" in json.dumps(p.params)], 120
    )
    late = (datetime.now(UTC) - expires_at).total_seconds()
    assert late < 30, f"expiry should fire at the deadline, came {late:.1f}s late"
    assert len([p for p in cluster.slack.posts(ask["channel"], ask["ts"]) if "expired" in json.dumps(p.params)]) == 1
    assert len([p for p in cluster.slack.posts(ask["channel"], ask["ts"]) if "Reminder" in json.dumps(p.params)]) == 1
    assert told and cluster.query("SELECT status FROM approvals WHERE id=%s", approval_id) == [("expired",)]
