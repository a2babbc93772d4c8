"""A decision taken with `deskhand approvals decide` reaches the chat: the real command line records it (and
owes its publication in the same transaction); the worker's publication jobs, over the Slack Web API
emulator, tell the requester in their own thread once and redraw the approval's card; a re-run delivers
nothing new; Slack failing (HTTP 500) is retried with back-off and delivered once."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from bot.jobs import JobContext, Schedule, build_registry
from bot.jobs_publish import publish_decision, publish_decisions
from bot.metrics import Metrics
from bot.publications import PublicationRow, PublisherRow, owe_publication
from bot.queue import InProcessQueue
from bot.settings import Settings, SlackSettings
from bot.wiring import Runtime, open_runtime
from bot.worker import attach_outboxes, build_job_context
from channels.base import InboundMessage
from channels.coordination import build_coordinator, new_namespace
from tests.emulators.slack_api import BOT_TOKEN, SlackApiEmulator, slack_id
from tests.ops.conftest import CAROL, DAN, HECTOR

ROOT = Path(__file__).resolve().parents[2]
BOB = "bob.martin@example.com"
THREAD = {"channel": "C_FINANCE", "thread_ts": "1700000000.000100", "user": slack_id(HECTOR), "team": "T_LARKSPUR"}


@dataclass
class World:
    rt: Runtime
    ctx: JobContext
    queue: InProcessQueue
    emulator: SlackApiEmulator
    data_dir: Path
    database_url: str | None


@pytest.fixture
async def world(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sample_index: Path,
    embedder: Any,
    emulator: SlackApiEmulator,
    redis_url: str,
) -> AsyncIterator[World]:
    """The worker's side: the runtime (embedded SQLite, or PostgreSQL with `indirect` "postgresql"), Slack's
    output half on the emulator, the jobs run in this process."""
    url = None
    if getattr(request, "param", "sqlite") == "postgresql":
        from bot.cli_db import upgrade

        url = request.getfixturevalue("fresh_pg_url")
        await asyncio.to_thread(upgrade, url)
    slack = SlackSettings(bot_token=SecretStr(BOT_TOKEN), signing_secret=SecretStr("s"), api_url=emulator.base_url)
    settings = Settings(  # type: ignore[call-arg]
        data_dir=tmp_path / "data", index_dir=sample_index, database_url=url, slack=slack
    )
    coordinator = build_coordinator(redis_url, namespace=new_namespace("publish"))
    async with open_runtime(settings, embedder=embedder, metrics=Metrics()) as rt:
        closers = await attach_outboxes(settings, rt, coordinator)
        queue = InProcessQueue(build_registry(Schedule()))
        ctx = build_job_context(settings, rt, queue, Metrics())
        queue.ctx = ctx
        try:
            yield World(rt, ctx, queue, emulator, tmp_path / "data", url)
        finally:
            await queue.stop()
            for close in closers:
                await close()
    await coordinator.close()


async def _asked_in_slack(w: World, text: str) -> str:
    """Hector asks in a Slack thread; the approval card is posted there (and remembered) as Slack does."""
    reply = await w.rt.agent.handle(
        InboundMessage(
            channel="slack",
            conversation_key="slack:T_LARKSPUR:C_FINANCE:1700000000.000100",
            user_id=slack_id(HECTOR),
            user_email=HECTOR,
            text=text,
            conversation_ref=THREAD,
        )
    )
    assert reply.approval is not None, reply.text
    await w.rt.fanout.outboxes["slack"].deliver(THREAD, reply)  # type: ignore[attr-defined]
    refs = w.rt.approvals.message_refs(reply.approval.approval_id)
    assert [c for c, _ in refs] == ["slack"]
    w.emulator.calls.clear()  # what follows is the decision's publication alone
    return reply.approval.approval_id


def _decide(w: World, approval_id: str, *args: str) -> dict[str, Any]:
    command = [sys.executable, "-m", "bot", "approvals", "decide", approval_id, *args]
    done = subprocess.run(command, cwd=w.data_dir.parent, env=_terminal_env(w), capture_output=True, text=True)
    assert done.returncode in (0, 1), done.stderr
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _terminal_env(w: World) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DESKHAND_DATA_DIR": str(w.data_dir)}
    for name in ("DATABASE_URL", "REDIS_URL", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "MICROSOFT_APP_ID"):
        env.pop(name, None)  # the operator's terminal: no chat credentials at all
    if w.database_url:
        env["DATABASE_URL"] = w.database_url
    return env


def _row(w: World, approval_id: str) -> PublicationRow | None:
    with w.rt.approvals.sessions() as session:
        row = session.get(PublicationRow, approval_id)
        if row is not None:
            session.expunge(row)
        return row


def _posts(w: World) -> list[str]:
    return [str(c.params.get("text", "")) for c in w.emulator.of("chat.postMessage")]


def _updates(w: World) -> list[dict[str, Any]]:
    return [c.params for c in w.emulator.of("chat.update")]


async def _published(w: World, approval_id: str) -> PublicationRow:
    deadline = time.monotonic() + 20
    while (row := _row(w, approval_id)) is None or row.published_at is None:
        assert time.monotonic() < deadline, "the publication never completed"
        await asyncio.sleep(0.02)
    return row


@pytest.mark.parametrize("world", ["sqlite", "postgresql"], indirect=True)
async def test_a_rejection_from_the_terminal_reaches_the_slack_thread_once(world: World) -> None:
    w = world
    approval_id = await _asked_in_slack(w, "put a hold on invoice INV-10077")
    card_ts = w.rt.approvals.message_refs(approval_id)[0][1]["ts"]
    bob_thread = {**THREAD, "channel": "C_OPS", "user": slack_id(BOB)}
    joined = await w.rt.agent.handle(  # Bob asks for the same in his own thread: he joins Hector's request
        InboundMessage(
            channel="slack",
            conversation_key="slack:T_LARKSPUR:C_OPS:1700000000.000100",
            user_id=slack_id(BOB),
            user_email=BOB,
            text="please hold invoice INV-10077",
            conversation_ref=bob_thread,
        )
    )
    assert joined.data.get("joined") is True, joined.text

    out = _decide(w, approval_id, "--as", DAN, "--reject", "--reason", "paid already")
    assert out["accepted"] is True and out["status"] == "rejected"
    assert "Slack: queued, not yet delivered" in out["chat"], "no worker has run: the terminal must not promise"
    assert _posts(w) == [] and _updates(w) == []  # the command line itself never talks to Slack
    row = _row(w, approval_id)
    assert row is not None and row.published_at is None and row.notice is not None

    await publish_decisions(w.ctx)  # the worker's sweep: enqueues the publication, which runs in this process
    await _published(w, approval_id)
    posts = _posts(w)
    assert len(posts) == 2 and posts[0] == posts[1]
    assert "was rejected by dan.okafor@example.com" in posts[0] and "paid already" in posts[0]
    where = [(c.params["channel"], c.params["thread_ts"]) for c in w.emulator.of("chat.postMessage")]
    assert where == [("C_FINANCE", THREAD["thread_ts"]), ("C_OPS", THREAD["thread_ts"])]  # Hector's, then Bob's
    updates = _updates(w)
    assert [u["ts"] for u in updates] == [card_ts] and "reject" in json.dumps(updates[0]).lower()

    await publish_decisions(w.ctx)  # the next sweep, and a retried job: nothing new
    assert await w.queue.depth() == 0, "the sweep enqueued nothing"
    await publish_decision(w.ctx, approval_id)
    assert len(_posts(w)) == 2 and len(_updates(w)) == 1

    # A worker reaching Slack has run the sweep now: the next decision says it will be delivered.
    other = await _asked_in_slack(w, "put a hold on invoice INV-10042")
    told = _decide(w, other, "--as", DAN, "--reject", "--reason", "wrong invoice")
    assert told["chat"].startswith("Slack: queued; a running worker tells the requester")


async def test_an_approval_from_the_terminal_survives_slack_failing(world: World) -> None:
    w = world
    approval_id = await _asked_in_slack(w, "put a hold on invoice INV-10077")
    first = _decide(w, approval_id, "--as", CAROL, "--approve")
    if first["status"] == "pending":  # four eyes: the first approval only redraws the card
        await publish_decision(w.ctx, approval_id)
        assert _posts(w) == [] and len(_updates(w)) == 1
        assert _row(w, approval_id).published_at is not None  # type: ignore[union-attr]
        first = _decide(w, approval_id, "--as", DAN, "--approve")
    assert first["status"] == "executed", first
    updates_before = len(_updates(w))

    w.emulator.fail(2, status=500, method="chat.postMessage")  # Slack is down for the requester's notice
    await publish_decision(w.ctx, approval_id)
    row = _row(w, approval_id)
    assert row is not None and row.published_at is None and row.attempts == 1 and row.last_error
    assert row.next_at is not None and row.next_at.replace(tzinfo=UTC) > datetime.now(UTC)  # backed off
    assert len(_updates(w)) == updates_before + 1  # the card was redrawn; only the notice is owed
    assert [c.ok for c in w.emulator.of("chat.postMessage", ok_only=False)] == [False]

    await publish_decision(w.ctx, approval_id)  # not due yet: nothing is tried
    assert len(w.emulator.of("chat.postMessage", ok_only=False)) == 1

    later = datetime.now(UTC)
    w.ctx.clock = lambda: later + timedelta(seconds=6)  # the first back-off (5 s) has passed
    await publish_decision(w.ctx, approval_id)
    again = _row(w, approval_id)
    assert again is not None and again.attempts == 2 and again.published_at is None
    waited = again.next_at.replace(tzinfo=UTC) - (later + timedelta(seconds=6))  # type: ignore[union-attr]
    assert timedelta(seconds=9) <= waited <= timedelta(seconds=11), "the second wait doubles"

    w.ctx.clock = lambda: later + timedelta(minutes=1)
    await publish_decisions(w.ctx)
    await _published(w, approval_id)
    # The outcome holds financial details: Hector gets it by DM, and a pointer in his thread, once each.
    posts = [(c.params["channel"], str(c.params.get("text", ""))) for c in w.emulator.of("chat.postMessage")]
    assert [channel for channel, _ in posts] == [f"D{slack_id(HECTOR)}", THREAD["channel"]]
    assert posts[0][1].startswith("Approved by") and "INV-10077" in posts[0][1] and "privately" in posts[1][1]
    assert len(_updates(w)) == updates_before + 1, "the card is not redrawn again"
    await publish_decision(w.ctx, approval_id)
    await publish_decisions(w.ctx)
    assert await w.queue.depth() == 0
    assert len(_posts(w)) == 2 and len(_updates(w)) == updates_before + 1


@pytest.mark.parametrize("world", ["sqlite", "postgresql"], indirect=True)
async def test_a_decision_whose_process_died_is_published_from_the_record(world: World) -> None:
    """The command line crashed right after the decision committed: no notice kept, nothing told. The debt
    committed with the decision, so the sweep finds it and words the rejection from the record."""
    w = world
    approval_id = await _asked_in_slack(w, "put a hold on invoice INV-10077")
    store = w.rt.approvals
    store.on_change = owe_publication  # as `approvals decide` sets it up
    try:
        result = await asyncio.to_thread(store.decide, approval_id, DAN, False, "duplicate")
    finally:
        store.on_change = None
    assert result.accepted and _row(w, approval_id) is not None

    await publish_decisions(w.ctx)
    await _published(w, approval_id)
    posts = _posts(w)
    assert len(posts) == 1 and "rejected by dan.okafor@example.com" in posts[0] and "duplicate" in posts[0]
    assert len(_updates(w)) == 1


async def test_a_button_decision_owes_nothing(world: World) -> None:
    w = world
    approval_id = await _asked_in_slack(w, "put a hold on invoice INV-10077")
    outcome = await w.rt.agent.decide(approval_id, DAN, False, "no")
    assert outcome.accepted
    assert _row(w, approval_id) is None  # the buttons' path publishes itself
    posts_after_click = len(_posts(w))
    await publish_decisions(w.ctx)
    assert await w.queue.depth() == 0 and len(_posts(w)) == posts_after_click


async def test_an_action_finished_by_crash_recovery_is_told_once(world: World) -> None:
    """The command line died after the approval committed, before running the hold: crash recovery runs it
    and tells the requester; the publication then only redraws the card (nobody hears it twice)."""
    from graphs.recovery import recover_approvals

    w = world
    approval_id = await _asked_in_slack(w, "put a hold on invoice INV-10077")
    store = w.rt.approvals
    store.on_change = owe_publication  # as `approvals decide` sets it up
    try:
        for approver in (CAROL, DAN):
            result = await asyncio.to_thread(store.decide, approval_id, approver, True, "")
            if result.became == "approved":
                break
    finally:
        store.on_change = None
    assert result.became == "approved"

    w.rt.deps.clock = lambda: datetime.now(UTC) + timedelta(minutes=1)  # past recovery's grace
    report = await recover_approvals(w.rt.agent, grace=w.ctx.recovery_grace)
    assert report.executed == [approval_id]
    told_by_recovery = len(_posts(w))
    assert told_by_recovery >= 1 and any("Approved by" in p for p in _posts(w))
    updates = len(_updates(w))

    await publish_decisions(w.ctx)
    row = await _published(w, approval_id)
    assert row.last_error is None
    assert len(_posts(w)) == told_by_recovery, "recovery told the requester; the publication does not repeat it"
    assert len(_updates(w)) == updates + 1  # the card is redrawn for the final version


@pytest.mark.parametrize("world", ["postgresql"], indirect=True)
async def test_a_running_worker_delivers_a_terminal_decision(world: World, redis_url: str) -> None:
    """`deskhand worker` as a real process: it runs the sweep, so the command line says the requester will
    be told, and the worker tells them in their thread and redraws the card, once."""
    from tests.ops.processes import LoggedProcess, deskhand

    w = world
    approval_id = await _asked_in_slack(w, "put a hold on invoice INV-10077")
    env = {
        **_terminal_env(w),
        "REDIS_URL": redis_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": "s",
        "SLACK_API_URL": w.emulator.base_url,
        "DESKHAND_JOB_SWEEP_SECONDS": "1",
        "DESKHAND_INDEX_DIR": str(w.rt.settings.resolved_index_dir),
    }
    worker = LoggedProcess(deskhand("worker"), env, cwd=w.data_dir.parent)
    try:
        deadline = time.monotonic() + 240
        with w.rt.approvals.sessions() as session:
            query = select(PublisherRow.channels)
            while ["slack"] not in list(session.execute(query).scalars()):  # the worker's sweep has run
                assert worker.proc.poll() is None, "".join(worker.lines[-40:])
                assert time.monotonic() < deadline, "the worker never ran the publication sweep"
                session.rollback()
                await asyncio.sleep(0.1)

        cli = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "approvals", "decide", approval_id, "--as", DAN, "--reject",
            "--reason", "paid already", env=_terminal_env(w), stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out = json.loads((await cli.communicate())[0].decode().strip().splitlines()[-1])
        assert out["status"] == "rejected" and out["chat"].startswith("Slack: queued; a running worker tells")

        await _published(w, approval_id)
        posts = _posts(w)
        assert len(posts) == 1 and "rejected by dan.okafor@example.com" in posts[0] and "paid already" in posts[0]
        assert len(_updates(w)) == 1
    finally:
        worker.stop()
