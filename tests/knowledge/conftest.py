"""Knowledge fixtures: the real embedder (loaded once) and the sample corpus indexed once per session."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

from knowledge.answer import KnowledgeBase
from knowledge.embedder import Embedder, load_embedder
from knowledge.index import build_index

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a model hub from tests

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "knowledge" / "corpus"
DATASET = ROOT / "evals" / "datasets" / "knowledge.jsonl"
# The exported ONNX graph is cached across sessions so each run doesn't pay the one-time export.
MODEL_CACHE = Path(tempfile.gettempdir()) / "deskhand-models"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return load_embedder("auto", MODEL_CACHE)


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    out = tmp_path_factory.mktemp("sample-index")
    build_index([CORPUS], out, embedder)
    return out


@pytest.fixture(scope="session")
def kb(sample_index: Path, embedder: Embedder) -> KnowledgeBase:
    return KnowledgeBase.open(sample_index, embedder)


@pytest.fixture(scope="session")
def cases() -> list[dict[str, Any]]:
    return [json.loads(line) for line in DATASET.read_text(encoding="utf-8").splitlines() if line.strip()]


class RenamedEmbedder(Embedder):
    """The real embedder under another name: what a server configured with another model looks like."""

    def __init__(self, inner: Embedder, name: str) -> None:
        self.inner = inner
        self.name = name
        self.dim = inner.dim

    def _encode_batch(self, texts: list[str]) -> Any:
        return self.inner._encode_batch(texts)
