"""Versioned index: manifest, incremental rebuild, atomic publish, pruning and typed errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from knowledge.answer import KnowledgeBase
from knowledge.embedder import Embedder
from knowledge.errors import IndexBusy, IndexCorrupt, IndexMismatch, IndexMissing
from knowledge.index import build_index, index_status, open_index
from knowledge.store import CURRENT, build_lock, read_pointer

from .conftest import RenamedEmbedder

DOCS = {
    "hr/leave.md": "---\ntitle: Leave\n---\n# Leave\n\n## Annual leave\n\nEmployees get 20 days of annual leave.\n",
    "ap/runs.md": "# Payment runs\n\nAccounts Payable pays vendors on Tuesdays and Thursdays.\n",
    "it/vpn.md": "# VPN\n\n## Setup\n\nInstall the Tunnelbear client from the self-service portal.\n",
}


class CountingEmbedder(Embedder):
    """Records what it embeds and can run a check in the middle of a build."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.texts: list[str] = []
        self.during: Any = None

    def _encode_batch(self, texts: list[str]) -> Any:
        self.texts.extend(texts)
        if self.during:
            self.during()
        return self.inner._encode_batch(texts)


def _corpus(root: Path, docs: dict[str, str] = DOCS) -> Path:
    for rel, text in docs.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


def test_manifest_records_embedder_chunker_documents_and_counts(tmp_path: Path, embedder: Embedder) -> None:
    src = _corpus(tmp_path / "src")
    (src / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    report = build_index([src], tmp_path / "idx", embedder)
    version_dir = tmp_path / "idx" / "versions" / report.version
    manifest = json.loads((version_dir / "manifest.json").read_text())
    assert manifest["embedder"] == {"name": embedder.name, "dim": 384}
    assert manifest["chunker"]["target_words"] > 0 and "overlap_words" in manifest["chunker"]
    assert manifest["dense"]["type"] == "IndexFlatIP"
    assert set(manifest["documents"]) == set(DOCS)
    assert manifest["documents"]["hr/leave.md"]["title"] == "Leave"
    assert manifest["counts"] == {
        "documents": 3,
        "chunks": 3,
        "embedded": 3,
        "reused": 0,
        "documents_embedded": 3,
        "skipped": 1,
    }
    assert manifest["skipped"] == [{"source": "logo.png", "reason": "unsupported file type .png"}]
    assert (tmp_path / "idx" / CURRENT).read_text().strip() == report.version
    status = index_status(tmp_path / "idx")
    assert status["chunks"] == 3 and status["embedder"] == embedder.name and status["versions"] == [report.version]


def test_rebuild_embeds_only_changed_documents(tmp_path: Path, embedder: Embedder) -> None:
    src = _corpus(tmp_path / "src")
    counting = CountingEmbedder(embedder)
    first = build_index([src], tmp_path / "idx", counting)
    assert (first.embedded, first.reused) == (3, 0)

    before = open_index(tmp_path / "idx", embedder).retriever
    counting.texts.clear()
    (src / "ap/runs.md").write_text("# Payment runs\n\nAccounts Payable pays vendors on Fridays only.\n")
    second = build_index([src], tmp_path / "idx", counting)
    assert (second.embedded, second.reused, second.documents_embedded) == (1, 2, 1)
    passages = [t for t in counting.texts if "\n" in t]  # calibration also embeds its one-line questions
    assert len(passages) == 1 and "Fridays only" in passages[0]
    after = open_index(tmp_path / "idx", embedder).retriever
    old = {c.source: before.vectors[c.id] for c in before.chunks}
    for chunk in after.chunks:  # unchanged documents carry their exact vectors over
        same = np.array_equal(old[chunk.source], after.vectors[chunk.id])
        assert same == (chunk.source != "ap/runs.md")

    counting.texts.clear()
    third = build_index([src], tmp_path / "idx", counting)
    assert (third.embedded, third.reused) == (0, 3) and counting.texts == []
    assert not third.published and third.version == second.version  # nothing changed: nothing published


def test_publish_is_atomic_and_old_readers_keep_working(tmp_path: Path, embedder: Embedder) -> None:
    src = _corpus(tmp_path / "src")
    out = tmp_path / "idx"
    first = build_index([src], out, embedder)
    reader = KnowledgeBase.open(out, embedder)

    seen: list[tuple[str | None, str]] = []
    counting = CountingEmbedder(embedder)
    # While the new version is being embedded, CURRENT and a freshly opened index are still the old version.
    counting.during = lambda: seen.append((read_pointer(out), open_index(out, embedder).manifest["version"]))
    (src / "it/vpn.md").write_text("# VPN\n\n## Setup\n\nInstall WireGuard from the self-service portal.\n")
    second = build_index([src], out, counting)
    assert seen and all(s == (first.version, first.version) for s in seen)
    assert read_pointer(out) == second.version

    for _ in range(3):  # more versions than are kept: the first one is pruned
        (src / "hr/leave.md").write_text(f"# Leave\n\nEmployees get {20 + _} days of annual leave.\n")
        build_index([src], out, embedder, keep_versions=2)
    assert len(list((out / "versions").iterdir())) == 2
    assert not (out / "versions" / first.version).exists()
    # The reader opened on the pruned version still answers from memory.
    answer = reader.answer("Which VPN client do I install?")
    assert answer.found and "Tunnelbear" in answer.text


def test_server_refuses_an_index_built_with_another_embedder(tmp_path: Path, embedder: Embedder) -> None:
    build_index([_corpus(tmp_path / "src")], tmp_path / "idx", embedder)
    other = RenamedEmbedder(embedder, "some-other-model/torch")
    with pytest.raises(IndexMismatch) as err:
        KnowledgeBase.open(tmp_path / "idx", other)
    assert str(err.value) == (
        f"index was built with {embedder.name} (384-d), server is configured with some-other-model/torch (384-d); "
        "rebuild with `deskhand index build`"
    )


def test_missing_and_corrupt_indexes_raise_typed_errors(tmp_path: Path, embedder: Embedder) -> None:
    with pytest.raises(IndexMissing, match="no knowledge index"):
        open_index(tmp_path / "none", embedder)
    with pytest.raises(IndexMissing):
        index_status(tmp_path / "none")

    out = tmp_path / "idx"
    report = build_index([_corpus(tmp_path / "src")], out, embedder)
    version = out / "versions" / report.version
    pristine = tmp_path / "pristine"
    shutil.copytree(version, pristine)

    def damage(name: str, data: bytes) -> None:
        shutil.rmtree(version)
        shutil.copytree(pristine, version)
        (version / name).write_bytes(data)

    damage("vectors.npy", b"\x93NUMPY garbage")
    with pytest.raises(IndexCorrupt, match=r"vectors\.npy is damaged"):
        open_index(out, embedder)
    damage("manifest.json", b"{not json")
    with pytest.raises(IndexCorrupt, match=r"manifest\.json is not valid JSON"):
        index_status(out)
    damage("chunks.jsonl", b'{"id": 0}\n')
    with pytest.raises(IndexCorrupt, match=r"chunks\.jsonl is damaged"):
        open_index(out, embedder)
    damage("dense.faiss", b"\x00" * 64)
    with pytest.raises(IndexCorrupt, match="search index files are damaged"):
        open_index(out, embedder)
    vectors = np.load(pristine / "vectors.npy")
    shutil.rmtree(version)
    shutil.copytree(pristine, version)
    np.save(version / "vectors.npy", vectors[:2])
    with pytest.raises(IndexCorrupt, match="expected"):
        open_index(out, embedder)

    (out / CURRENT).write_text("20990101T000000Z\n")
    with pytest.raises(IndexCorrupt, match="missing version"):
        open_index(out, embedder)


def test_concurrent_builders_are_refused_clearly(tmp_path: Path, embedder: Embedder) -> None:
    src = _corpus(tmp_path / "src")
    with build_lock(tmp_path / "idx"), pytest.raises(IndexBusy, match="already writing"):
        build_index([src], tmp_path / "idx", embedder)
    assert build_index([src], tmp_path / "idx", embedder).chunks == 3  # the lock is released afterwards
