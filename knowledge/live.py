"""The published index, picked up again when a build publishes a new version (no restart, no dropped request)."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from knowledge import store
from knowledge.answer import KnowledgeBase
from knowledge.retrieve import Retriever
from knowledge.section import FullSection
from knowledge.types import Answer, Hit

log = logging.getLogger(__name__)
CHECK_INTERVAL_S = 2.0


def pointer_stamp(out_dir: Path) -> tuple[int, int, int] | None:
    """What identifies the CURRENT pointer file: a publish replaces it (new inode, new mtime)."""
    try:
        st = os.stat(out_dir / store.CURRENT)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


class LiveKnowledgeBase:
    """Serves from one loaded version; at most every `interval` seconds a request stats the CURRENT pointer
    (a few microseconds) and, when it changed, a background thread loads the new version and swaps it in.
    Requests keep using the loaded version meanwhile; a version that fails to load is logged and skipped."""

    def __init__(
        self,
        out_dir: Path,
        load: Callable[[], KnowledgeBase],
        *,
        interval: float = CHECK_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.out_dir = Path(out_dir)
        self._load = load
        self.interval = interval
        self._clock = clock
        self._stamp = pointer_stamp(self.out_dir)
        self._kb = load()
        self._checked = clock()
        self._lock = threading.Lock()
        self._loader: threading.Thread | None = None

    @property
    def current(self) -> KnowledgeBase:
        now = self._clock()
        if now - self._checked >= self.interval:
            self._checked = now
            stamp = pointer_stamp(self.out_dir)
            if stamp is not None and stamp != self._stamp:
                self._start_reload(stamp)
        return self._kb

    def _start_reload(self, stamp: tuple[int, int, int]) -> None:
        with self._lock:
            if self._loader is not None and self._loader.is_alive():
                return
            self._loader = threading.Thread(target=self._reload, args=(stamp,), name="index-reload", daemon=True)
            self._loader.start()

    def _reload(self, stamp: tuple[int, int, int]) -> None:
        try:
            fresh = self._load()
        except Exception:  # a damaged or mismatched version must not take the serving one down
            log.exception(
                "could not load the newly published index in %s; still serving %s", self.out_dir, self.version
            )
            self._stamp = stamp  # retried when the pointer changes again
            return
        self._kb, self._stamp = fresh, stamp
        log.info("now serving index version %s", fresh.version)

    # The KnowledgeBase interface, each call on the version current when it starts.
    def answer(self, question: str, *, query_vec: np.ndarray | None = None) -> Answer:
        return self.current.answer(question, query_vec=query_vec)

    def section(self, ref: str) -> FullSection:
        return self.current.section(ref)

    def query_text(self, question: str) -> str:
        return self.current.query_text(question)

    def search(self, question: str, k: int = 10, query_vec: np.ndarray | None = None) -> list[Hit]:
        return self.current.search(question, k, query_vec)

    @property
    def retriever(self) -> Retriever:
        return self.current.retriever

    @property
    def version(self) -> str:
        return self._kb.version
