"""What every suite runs on: the shared embedder, indexes built once (and cached), and runtimes opened from
the same composition root as the server, each in its own fresh data folder when a case changes state."""

from __future__ import annotations

import hashlib
import logging
import shutil
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any

from channels.base import InboundMessage, Reply
from evals.models import meter_runtime
from evals.results import Turn, Usage
from knowledge.embedder import Embedder, load_embedder
from knowledge.index import build_index

# bot.wiring.open_runtime, handed in by the CLI (evals never imports bot/).
OpenRuntime = Callable[..., AbstractAsyncContextManager[Any]]


class Clock:
    """A clock the conversation suite can move forward (approval expiry) without waiting."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, minutes: float) -> None:
        self.offset += timedelta(minutes=minutes)


@dataclass
class EvalEnv:
    """One eval run's shared parts. `settings` is the application's settings object; only `model_copy`
    is used, to point each runtime at its own data folder with the embedded stores."""

    settings: Any
    open_runtime: OpenRuntime
    work: Path  # scratch space for this run (fresh data folders, corpora copies)
    cache: Path  # kept between runs: indexes, rebuilt incrementally
    usage: Usage = field(default_factory=Usage)
    notes: dict[Path, str] = field(default_factory=dict)  # index folder -> what indexing had to say
    _embedder: Embedder | None = None
    _template: Path | None = None
    _ids: count[int] = field(default_factory=count)

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            # The same backend and model cache as the served app (bot.wiring), so the ONNX export is shared.
            self._embedder = load_embedder(
                self.settings.embedder_backend, cache_dir=Path(self.settings.cache_dir) / "models"
            )
        return self._embedder

    def index(self, sources: Sequence[Path], *, temporary: bool = False) -> Path:
        """Build (or incrementally refresh) an index of `sources`: kept in the cache folder (named by the
        sources' paths, so suites over the same corpus share it), or in this run's scratch space."""
        key = hashlib.sha256("\n".join(str(Path(s).resolve()) for s in sources).encode()).hexdigest()[:10]
        out = (self.work if temporary else self.cache) / "indexes" / f"{Path(sources[0]).name}-{key}"
        self._build(sources, out)
        return out

    def _build(self, sources: Sequence[Path], out: Path) -> None:
        # The ingester warns about every file it skips, on every rebuild: one line in the report instead.
        ingest_log = logging.getLogger("knowledge.ingest")
        level = ingest_log.level
        ingest_log.setLevel(logging.ERROR)
        try:
            report = build_index(list(sources), out, self.embedder, progress=False)
        finally:
            ingest_log.setLevel(level)
        if report.skipped:
            self.notes[out] = (
                f"{len(report.skipped)} files in the corpus were skipped when indexing "
                f"(e.g. {report.skipped[0].source}: {report.skipped[0].reason})."
            )

    def derived_index(self, name: str, base: Path, sources: Sequence[Path]) -> Path:
        """An index of `sources` seeded from `base`, so only documents `base` lacks are embedded."""
        out = self.cache / "indexes" / name
        if not out.exists():
            shutil.copytree(base, out)
        self._build(sources, out)
        return out

    def _settings_for(self, data_dir: Path, index_dir: Path) -> Any:
        # Evals always run on the embedded stores (SQLite, in-process SCIM): isolated and offline.
        return self.settings.model_copy(
            update={
                "data_dir": data_dir,
                "index_dir": index_dir,
                "database_url": None,
                "scim_url": None,
                "scim_token": None,
                "redis_url": None,
            }
        )

    async def _template_dir(self, index_dir: Path) -> Path:
        """A pristine data folder (migrated and seeded) that fresh runtimes are copied from: copying is
        quicker than migrating and seeding again. The router's trained model lives in the app's cache_dir."""
        if self._template is None:
            template = self.work / "template"
            async with self.open_runtime(self._settings_for(template, index_dir), embedder=self.embedder):
                pass
            self._template = template
        return self._template

    @asynccontextmanager
    async def runtime(self, index_dir: Path, label: str = "rt") -> AsyncIterator[Any]:
        """A runtime over a fresh copy of the pristine data folder (nothing shared with other cases)."""
        template = await self._template_dir(index_dir)
        data_dir = self.work / "runs" / f"{next(self._ids):04d}-{label}"
        shutil.copytree(template, data_dir)
        try:
            async with self.open_runtime(self._settings_for(data_dir, index_dir), embedder=self.embedder) as rt:
                meter_runtime(rt, self.usage)
                yield rt
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)


class Chat:
    """Talks to a runtime's agent as given users over the local channel, timing every turn."""

    def __init__(self, rt: Any, prefix: str, turns: list[Turn]) -> None:
        self.rt, self.prefix, self.turns = rt, prefix, turns

    def key(self, user: str | None, conversation: str | None = None) -> str:
        return f"{self.prefix}.{conversation or user or 'anonymous'}"

    async def say(self, user: str | None, text: str, conversation: str | None = None) -> Reply:
        key = self.key(user, conversation)
        message = InboundMessage(
            channel="local",
            conversation_key=f"local:{key}",
            user_id=user or "anonymous",
            user_email=user,
            text=text,
            conversation_ref={"conversation": key},
        )
        started = time.perf_counter()
        reply: Reply = await self.rt.agent.handle(message)
        self.turns.append(Turn(reply.route, (time.perf_counter() - started) * 1000))
        return reply

    def inbox(self, user: str | None, conversation: str | None = None) -> list[dict[str, Any]]:
        return list(self.rt.local_outbox.drain(self.key(user, conversation)))


async def run_limited(
    items: Sequence[Any], fn: Callable[[Any], Any], jobs: int, done: Callable[[], None] | None = None
) -> list[Any]:
    """`await fn(item)` for every item, at most `jobs` at a time; results in the items' order."""
    import asyncio

    gate = asyncio.Semaphore(max(1, jobs))

    async def one(item: Any) -> Any:
        async with gate:
            try:
                return await fn(item)
            finally:
                if done is not None:
                    done()

    return list(await asyncio.gather(*(one(i) for i in items)))
