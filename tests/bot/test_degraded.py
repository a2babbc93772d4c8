"""PostgreSQL down mid-run (a TCP relay in front of the real server is cut): handbook questions are still
answered and their audit entries spooled, a request that needs the database gets the error message with
a reference id, and once the database is back the spool joins the hash chain, which still verifies."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from bot.cli_db import upgrade
from bot.degraded import ResilientAgent
from bot.settings import Settings, offline_runtime
from bot.wiring import Runtime, open_runtime
from channels.base import InboundMessage, Reply

offline_runtime()
BOB, HECTOR = "bob.martin@example.com", "hector.ruiz@example.com"


class Relay:
    """A TCP relay to PostgreSQL on its own thread and event loop (the runtime's start-up blocks the test's
    loop), which can be cut (every connection dropped, new ones refused) and restored on the same port."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)

    def start(self) -> None:
        self._run(self._start())

    def cut(self) -> None:
        self._run(self._cut())

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._pipe, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._open):
            writer.transport.abort()
        await self._server.wait_closed()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._open |= {writer, up_writer}

        async def copy(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(copy(reader, up_writer), copy(up_reader, writer))
        self._open -= {writer, up_writer}


@pytest.fixture
def relay_url(fresh_pg_url: str) -> Iterator[tuple[Relay, str]]:
    upgrade(fresh_pg_url)
    parts = urlsplit(fresh_pg_url)
    relay = Relay(parts.hostname or "127.0.0.1", parts.port or 5432)
    relay.start()
    yield relay, fresh_pg_url.replace(parts.netloc, f"{parts.username}@127.0.0.1:{relay.port}", 1)
    relay.close()


async def say(rt: Runtime, user: str, text: str, key: str) -> Reply:
    message = InboundMessage(
        channel="local",
        conversation_key=f"local:{key}",
        user_id=user,
        user_email=user,
        text=text,
        conversation_ref={"conversation": key},
    )
    return await rt.agent.handle(message)


async def test_handbook_answers_go_on_while_postgres_is_down(
    relay_url: tuple[Relay, str], tmp_path: Path, sample_index: Path, embedder: Any
) -> None:
    relay, url = relay_url
    settings = Settings(data_dir=tmp_path / "data", index_dir=sample_index, database_url=url)  # type: ignore[call-arg]
    spool = settings.data_dir / "audit-spool.jsonl"
    async with open_runtime(settings, embedder=embedder) as rt:
        assert isinstance(rt.agent, ResilientAgent)
        rt.agent.down_for_s = 0.0  # try the database on every turn (the default waits a few seconds)
        assert (await say(rt, BOB, "how many PTO days do I get?", "c1")).route == "answer"

        relay.cut()  # PostgreSQL is unreachable from here on
        answered = await say(rt, BOB, "how do I get VPN access?", "c2")
        assert answered.route == "answer" and answered.citations, answered
        request = await say(rt, HECTOR, "put a hold on invoice INV-10077", "c3")
        assert request.route == "error" and request.reference_id and request.reference_id in request.text
        spooled = [json.loads(line) for line in spool.read_text(encoding="utf-8").splitlines()]
        assert [e["kind"] for e in spooled] == ["answer"] and spooled[0]["actor"] == BOB

        relay.start()  # back on the same port
        after = await say(rt, BOB, "what is the expense limit for meals?", "c4")
        assert after.route == "answer", after
        assert not spool.exists() and not spool.with_suffix(".replaying").exists()
        entries = await asyncio.to_thread(rt.audit.tail, 10)
        replayed = [e for e in entries if e.id == spooled[0]["id"]]
        assert len(replayed) == 1 and replayed[0].payload["spooled_at"] == spooled[0]["at"]
        assert (await asyncio.to_thread(rt.audit.verify)).ok
