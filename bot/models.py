"""The embedding model, the knowledge index and the intent router, built on demand for the composition root."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from bot.settings import Settings
from graphs.understanding.intents import IntentRouter, load_examples
from knowledge.embedder import Embedder, load_embedder

if TYPE_CHECKING:
    import numpy as np

    from knowledge.live import LiveKnowledgeBase
    from knowledge.retrieve import Retriever
    from knowledge.section import FullSection
    from knowledge.types import Answer


class Models:
    """The embedding model, the knowledge index and the intent router, each loaded on first use: commands
    that only read or decide approvals never pay for them (seconds of imports and loading)."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None, *, contacts: dict[str, str]) -> None:
        self._settings = settings
        self._contacts = contacts
        if embedder is not None:
            self.__dict__["embedder"] = embedder

    @cached_property
    def embedder(self) -> Embedder:
        return load_embedder(self._settings.embedder_backend, cache_dir=self._settings.cache_dir / "models")

    @cached_property
    def knowledge(self) -> LiveKnowledgeBase:
        """The published index, picked up again when a build publishes a new version (no restart)."""
        from knowledge.answer import KnowledgeBase  # imports faiss
        from knowledge.live import LiveKnowledgeBase

        index_dir, embedder = self._settings.resolved_index_dir, self.embedder
        return LiveKnowledgeBase(
            index_dir,
            lambda: KnowledgeBase.open(
                index_dir, embedder, min_confidence=self._settings.min_confidence, contacts=self._contacts
            ),
        )

    @cached_property
    def router(self) -> IntentRouter:
        cache_dir = self._settings.cache_dir / "router"
        embedder = self.embedder
        return IntentRouter(load_examples(), embedder.encode, cache_dir=cache_dir, embedder_name=embedder.name)

    def load(self) -> None:
        """Load everything now (serving and asking: a missing index must stop start-up, not a first turn)."""
        _ = self.knowledge, self.router


class LazyKnowledge:
    """The knowledge port over `Models`, loading the index on the first question."""

    def __init__(self, models: Models) -> None:
        self._models = models

    def answer(self, question: str, *, query_vec: np.ndarray | None = None) -> Answer:
        return self._models.knowledge.answer(question, query_vec=query_vec)

    def query_text(self, question: str) -> str:
        return self._models.knowledge.query_text(question)

    def section(self, ref: str) -> FullSection:
        return self._models.knowledge.section(ref)

    @property
    def retriever(self) -> Retriever:
        """The loaded version's retriever (the eval suite reads its chunks)."""
        return self._models.knowledge.retriever


class LazyRouter:
    """Stands in for the `IntentRouter` until a message needs classifying."""

    def __init__(self, models: Models) -> None:
        self._models = models

    def __getattr__(self, name: str) -> Any:
        return getattr(self._models.router, name)
