"""`deskhand serve` end to end: a real server process with the real agent, driven over HTTP with signed
Slack requests and Bot Framework activities; its outgoing calls go to local emulators that record them."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from channels.slack.actions import APPROVE
from tests.channels.slack.support import SIGNING_SECRET, click, event_callback, mention, sign, wait_for
from tests.channels.teams.support import personal_message
from tests.emulators.bot_connector import BotConnectorEmulator, sample_users
from tests.emulators.slack_api import BOT_TOKEN, SlackApiEmulator, slack_id

pytestmark = pytest.mark.timeout(600)
HECTOR, CAROL, DAN = "hector.ruiz@example.com", "carol.diaz@example.com", "dan.okafor@example.com"
READY = re.compile(r"listening on (http://\S+)")


@dataclass
class Served:
    url: str
    process: subprocess.Popen[str]
    slack: SlackApiEmulator
    teams: BotConnectorEmulator
    http: aiohttp.ClientSession

    async def slack_event(self, event: dict[str, Any], event_id: str | None = None, retry: int | None = None) -> int:
        body = json.dumps(event_callback(event, event_id))
        headers = {"Content-Type": "application/json", **sign(body)}
        if retry is not None:
            headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        async with self.http.post(f"{self.url}/slack/events", data=body, headers=headers) as response:
            return response.status

    async def slack_click(self, payload: dict[str, Any]) -> int:
        from urllib.parse import urlencode

        body = urlencode({"payload": json.dumps(payload)})
        headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
        async with self.http.post(f"{self.url}/slack/events", data=body, headers=headers) as response:
            return response.status

    async def teams_activity(self, activity: dict[str, Any]) -> tuple[int, Any]:
        activity = {**activity, "id": str(uuid.uuid4().int % 10**13)}  # claims outlive a test run in Redis
        async with self.http.post(f"{self.url}/api/messages", json=activity) as response:
            raw = await response.read()
            return response.status, (json.loads(raw) if raw else None)


def start_serve(env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    """Start `deskhand serve --port 0` and wait for the line naming its address."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--port", "0"],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 300
    seen: list[str] = []
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        found = READY.search(line)
        if found:
            # Keep reading the log so the server never blocks on a full pipe.
            threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()  # type: ignore[union-attr]
            return proc, found.group(1)
    proc.kill()
    raise AssertionError("deskhand serve did not start:\n" + "".join(seen[-30:]))


def serve_env(tmp: Path, index: Path, slack_url: str, redis_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "DESKHAND_DATA_DIR": str(tmp / "data"),
        "DESKHAND_INDEX_DIR": str(index),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack_url,
        "DESKHAND_TEAMS_INSECURE_NO_AUTH": "true",
        "REDIS_URL": redis_url,
        "DESKHAND_LOG_LEVEL": "WARNING",
    }


@pytest.fixture(scope="module")
async def served(tmp_path_factory: pytest.TempPathFactory, sample_index: Path, redis_url: str) -> AsyncIterator[Served]:
    slack, teams = SlackApiEmulator(), BotConnectorEmulator()
    slack_url = await slack.start()
    await teams.start()
    tmp = tmp_path_factory.mktemp("serve")
    proc, url = await asyncio.to_thread(start_serve, serve_env(tmp, sample_index, slack_url, redis_url))
    async with aiohttp.ClientSession() as http:
        yield Served(url, proc, slack, teams, http)
    proc.terminate()
    proc.wait(timeout=30)
    await slack.stop()
    await teams.stop()


async def test_health_endpoints(served: Served):
    async with served.http.get(f"{served.url}/healthz") as live, served.http.get(f"{served.url}/readyz") as ready:
        assert (live.status, ready.status) == (200, 200)


async def test_slack_mention_gets_a_threaded_answer_with_citations(served: Served):
    event = mention(slack_id("bob.martin@example.com"), "how many PTO days do I get per year?")
    assert await served.slack_event(event) == 200
    answers = await wait_for(
        lambda: [c for c in served.slack.thread("C_GENERAL", event["ts"]) if "[1]" in json.dumps(c)], timeout=60
    )
    assert "15 days" in json.dumps(answers[-1])


async def test_duplicate_slack_deliveries_get_one_reply(served: Served):
    event = mention(slack_id("bob.martin@example.com"), "when are vendor payment runs?")
    event_id = f"Ev{uuid.uuid4().hex[:12].upper()}"  # claims live in Redis for a day: unique per run
    statuses = [await served.slack_event(event, event_id=event_id, retry=r) for r in (None, 1, 2, 3)]
    assert statuses == [200] * 4
    # Duplicates are refused when they are acknowledged (the event id is claimed first), so once the
    # answer is there, every delivery has been judged.
    # Any cited answer will do: what the answer says is the eval suite's concern, not this test's.
    await wait_for(
        lambda: [m for m in served.slack.thread("C_GENERAL", event["ts"]) if "[1]" in json.dumps(m)], timeout=60
    )
    # What the user sees: one message from Deskhand in the thread (a post, or a stream where Slack has them).
    assert len(served.slack.thread("C_GENERAL", event["ts"])) == 1


async def test_teams_personal_chat_gets_an_answer(served: Served):
    bob = sample_users()["bob.martin@example.com"]
    status, _ = await served.teams_activity(personal_message(served.teams, bob, "how many PTO days do I get a year?"))
    assert status in (200, 202)
    await served.teams.wait_for(
        lambda: [m for m in served.teams.messages() if "15 days" in m.text and "[1]" in m.text], timeout=60
    )


async def test_approval_requested_in_teams_is_decided_from_slack_and_every_copy_updates(served: Served):
    hector = sample_users()[HECTOR]
    served.teams.reset()
    served.slack.reset()
    status, _ = await served.teams_activity(personal_message(served.teams, hector, "put a hold on invoice INV-10077"))
    assert status in (200, 202)
    card = await served.teams.wait_for(lambda: [m for m in served.teams.messages() if m.cards], timeout=60)
    approval_id = re.search(r"apr_[A-Za-z0-9_-]{10}", json.dumps(card[-1].cards)).group(0)
    # Both AP leads get the request by DM in Slack (they are reachable there).
    offers = await wait_for(
        lambda: (lambda found: found if len(found) == 2 else None)(
            [
                c
                for c in served.slack.of("chat.postMessage")
                if approval_id in json.dumps(c.params) and c.params.get("channel", "").startswith("D")
            ]
        ),
        timeout=60,
    )
    for who in (CAROL, DAN):
        offer = next(c for c in offers if slack_id(who) in c.params["channel"])
        ts = offer.response["ts"]
        assert (
            await served.slack_click(
                click(slack_id(who), APPROVE, approval_id, channel=offer.params["channel"], message_ts=ts)
            )
            == 200
        )
    # Both Slack DMs and the Teams card are refreshed without buttons; the requester hears the outcome.
    dms = {offer.params["channel"] for offer in offers}
    await wait_for(
        lambda: (
            {
                c.params["channel"]
                for c in served.slack.of("chat.update")
                if c.params.get("channel") in dms
                and "Approved by" in c.params.get("text", "")
                and APPROVE not in json.dumps(c.params)
            }
            == dms
        ),
        timeout=60,
    )
    await served.teams.wait_for(
        lambda: [u for u in served.teams.updates() if "Approved" in json.dumps(u.body)], timeout=60
    )
    await served.teams.wait_for(lambda: [m for m in served.teams.messages() if "Approved by" in m.text], timeout=60)


def test_redis_down_at_start_up_is_a_clear_error(tmp_path: Path, sample_index: Path):
    env = serve_env(tmp_path, sample_index, "http://127.0.0.1:9/api/", "redis://127.0.0.1:1/0")
    done = subprocess.run(
        [sys.executable, "-m", "bot", "serve", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "redis" in done.stderr.lower() and "Traceback" not in done.stderr
