"""Build (incrementally), publish, inspect and open versioned knowledge indexes."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from knowledge import calibrate as calibrate_mod
from knowledge import store
from knowledge.chunking import ChunkerSettings, Passage, chunk_document
from knowledge.embedder import Embedder
from knowledge.errors import IndexCorrupt, IndexMismatch, KnowledgeError, NoDocuments
from knowledge.ingest import Skipped, load_documents
from knowledge.retrieve import (
    DenseSettings,
    Retriever,
    build_dense,
    build_lexical,
    dense_count,
    load_dense,
    load_lexical,
    save_dense,
    save_lexical,
)
from knowledge.status import index_status  # noqa: F401  (re-exported: its home before status.py)
from knowledge.types import Chunk
from knowledge.urls import UrlResolver

log = logging.getLogger(__name__)
CALIBRATION = calibrate_mod.VERSION
EMBED_SLICE = 128  # texts per progress step; each slice is sorted by length and batched inside


@dataclass(frozen=True)
class BuildReport:
    version: str
    path: Path
    embedder: str
    documents: int
    chunks: int
    embedded: int  # chunks embedded in this build
    reused: int  # chunks whose vectors came from the previous version
    documents_embedded: int
    skipped: list[Skipped] = field(default_factory=list)
    seconds: float = 0.0
    embed_seconds: float = 0.0
    published: bool = True  # False: nothing changed since the current version, which stays published

    @property
    def chunks_per_second(self) -> float:
        return self.embedded / self.embed_seconds if self.embed_seconds > 0 else 0.0


@dataclass(frozen=True)
class LoadedIndex:
    """One published version, fully in memory (a later publish or prune does not affect it)."""

    path: Path
    manifest: dict[str, Any]
    retriever: Retriever


def _previous_vectors(out_dir: Path, embedder: Embedder, chunker: ChunkerSettings) -> dict[str, Any]:
    """doc source -> (doc_hash, {chunk_hash: vector}) from the current version, when reusable."""
    try:
        version = store.current_version(out_dir)
        manifest = store.read_manifest(version)
    except KnowledgeError:
        return {}
    if manifest["embedder"].get("name") != embedder.name or manifest.get("chunker") != chunker.as_dict():
        return {}
    try:
        chunks = store.read_chunks(version / store.CHUNKS)
        vectors = store.read_vectors(version / store.VECTORS, expected=(len(chunks), embedder.dim))
    except IndexCorrupt:
        log.warning("previous index version is damaged; re-embedding everything")
        return {}
    reusable: dict[str, Any] = {}
    for chunk, vec in zip(chunks, vectors, strict=True):
        _, by_hash = reusable.setdefault(chunk.source, (chunk.doc_hash, {}))
        by_hash[chunk.chunk_hash] = vec
    return reusable


def _embed(embedder: Embedder, texts: list[str], advance: Callable[[int], None] | None = None) -> np.ndarray:
    """Embed in slices sorted by length (little padding per batch), reporting progress per slice."""
    if not texts:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = np.empty((len(texts), embedder.dim), dtype=np.float32)
    for start in range(0, len(order), EMBED_SLICE):
        idx = order[start : start + EMBED_SLICE]
        out[idx] = embedder.encode([texts[i] for i in idx])
        if advance:
            advance(len(idx))
    return out


def _embed_with_progress(embedder: Embedder, texts: list[str], progress: bool) -> np.ndarray:
    if not progress or len(texts) < EMBED_SLICE:
        return _embed(embedder, texts)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (
        TextColumn("embedding"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("chunks"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, transient=False) as bar:
        task = bar.add_task("embed", total=len(texts))
        return _embed(embedder, texts, advance=lambda n: bar.advance(task, n))


def build_index(
    sources: Sequence[Path],
    out_dir: Path,
    embedder: Embedder,
    *,
    progress: bool = False,
    chunker: ChunkerSettings | None = None,
    dense: DenseSettings | None = None,
    keep_versions: int = store.KEEP_VERSIONS,
    source_urls: Mapping[str, str] | None = None,
) -> BuildReport:
    """Ingest the sources, embed new or changed documents, and publish a new version atomically."""
    started = time.perf_counter()
    chunker = chunker or ChunkerSettings()
    dense = dense or DenseSettings()
    out_dir = Path(out_dir)
    with store.build_lock(out_dir):
        documents, skipped = load_documents([Path(s) for s in sources])
        if not documents:  # before anything is written: the published version stays as it is
            raise NoDocuments(", ".join(str(s) for s in sources), [s.reason for s in skipped])
        previous = _previous_vectors(out_dir, embedder, chunker)
        urls = UrlResolver([Path(s) for s in sources], source_urls)
        passages: list[Passage] = []
        passage_urls: list[str | None] = []
        vectors: list[np.ndarray | None] = []
        doc_records: dict[str, dict[str, Any]] = {}
        changed_docs = 0
        for doc in documents:
            doc_passages = chunk_document(doc, chunker)
            old_hash, old_vectors = previous.get(doc.source, (None, {}))
            reuse = old_hash == doc.doc_hash and all(p.chunk_hash in old_vectors for p in doc_passages)
            changed_docs += 0 if reuse else 1
            doc_url = urls.document(doc.source, doc.url)
            for p in doc_passages:
                passages.append(p)
                passage_urls.append(urls.section(doc_url, p.heading))
                vectors.append(old_vectors[p.chunk_hash] if reuse else None)
            doc_records[doc.source] = {
                "hash": doc.doc_hash,
                "title": doc.title,
                "chunks": len(doc_passages),
                "url": doc_url,
            }
        fingerprint = _fingerprint(embedder, chunker, dense, passages, passage_urls, skipped)
        unchanged = _unchanged(out_dir, fingerprint)
        if unchanged is not None:
            return BuildReport(
                version=unchanged.name,
                path=unchanged,
                embedder=embedder.name,
                documents=len(documents),
                chunks=len(passages),
                embedded=0,
                reused=len(passages),
                documents_embedded=0,
                skipped=skipped,
                seconds=time.perf_counter() - started,
                published=False,
            )
        todo = [i for i, v in enumerate(vectors) if v is None]
        embed_started = time.perf_counter()
        fresh = _embed_with_progress(embedder, [passages[i].embed_text for i in todo], progress)
        embed_seconds = time.perf_counter() - embed_started
        matrix = np.zeros((len(passages), embedder.dim), dtype=np.float32)
        for i, vec in enumerate(vectors):
            if vec is not None:
                matrix[i] = vec
        if todo:
            matrix[todo] = fresh
        chunks = [
            Chunk(
                id=i,
                source=p.source,
                title=p.title,
                heading=p.heading,
                text=p.text,
                doc_hash=p.doc_hash,
                chunk_hash=p.chunk_hash,
                url=passage_urls[i],
            )
            for i, p in enumerate(passages)
        ]
        name = store.new_version_name()
        staged = store.staging_dir(out_dir, name)
        np.save(staged / store.VECTORS, matrix, allow_pickle=False)
        store.write_chunks(staged / store.CHUNKS, chunks)
        dense_index = build_dense(matrix, dense)
        lexical_index = build_lexical([p.embed_text for p in passages])
        save_dense(dense_index, staged / store.DENSE)
        save_lexical(lexical_index, staged / store.LEXICAL)
        calibration = _calibrate(
            embedder, Retriever(chunks=chunks, vectors=matrix, dense=dense_index, lexical=lexical_index)
        )
        seconds = time.perf_counter() - started
        manifest = {
            "format_version": store.FORMAT_VERSION,
            "version": name,
            "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "build_seconds": round(seconds, 3),
            "embedder": {"name": embedder.name, "dim": embedder.dim},
            "chunker": chunker.as_dict(),
            "dense": dense.describe(len(chunks)),
            "lexical": {"type": "bm25s", "stemmer": "english", "stopwords": "en"},
            "sources": [str(Path(s)) for s in sources],
            "fingerprint": fingerprint,
            "calibration": calibration,
            "documents": doc_records,
            "skipped": [{"source": s.source, "reason": s.reason} for s in skipped],
            "counts": {
                "documents": len(documents),
                "chunks": len(chunks),
                "embedded": len(todo),
                "reused": len(chunks) - len(todo),
                "documents_embedded": changed_docs,
                "skipped": len(skipped),
            },
        }
        store.write_json(staged / store.MANIFEST, manifest)
        final = store.publish(out_dir, staged, name)
        store.prune(out_dir, keep_versions)
    return BuildReport(
        version=name,
        path=final,
        embedder=embedder.name,
        documents=len(documents),
        chunks=len(chunks),
        embedded=len(todo),
        reused=len(chunks) - len(todo),
        documents_embedded=changed_docs,
        skipped=skipped,
        seconds=seconds,
        embed_seconds=embed_seconds,
    )


def _fingerprint(
    embedder: Embedder,
    chunker: ChunkerSettings,
    dense: DenseSettings,
    passages: list[Passage],
    urls: list[str | None],
    skipped: list[Skipped],
) -> str:
    """What a published version is made of: a build that would produce the same publishes nothing."""
    digest = hashlib.sha256()
    head = [store.FORMAT_VERSION, embedder.name, chunker.as_dict(), dense.describe(len(passages)), CALIBRATION]
    digest.update(json.dumps(head, sort_keys=True).encode())
    for passage, url in zip(passages, urls, strict=True):
        digest.update(f"{passage.source}\x1f{passage.chunk_hash}\x1f{url}\n".encode())
    for item in skipped:
        digest.update(f"skipped\x1f{item.source}\x1f{item.reason}\n".encode())
    return digest.hexdigest()


def _unchanged(out_dir: Path, fingerprint: str) -> Path | None:
    """The current version when it was built from exactly these inputs (and is still readable)."""
    try:
        version = store.current_version(out_dir)
        manifest = store.read_manifest(version)
    except KnowledgeError:
        return None
    return version if manifest.get("fingerprint") == fingerprint else None


def _calibrate(embedder: Embedder, retriever: Retriever) -> dict[str, Any]:
    """Score pseudo-questions from the index's own sections and off-topic probes (knowledge/calibrate.py)."""
    from knowledge.answer import KnowledgeBase  # the answerer is built on this module's LoadedIndex

    started = time.perf_counter()
    kb = KnowledgeBase(LoadedIndex(path=Path("."), manifest={}, retriever=retriever), embedder)
    questions = calibrate_mod.pseudo_questions(retriever.chunks) + list(calibrate_mod.probes())
    vectors = embedder.encode(questions) if questions else np.zeros((0, embedder.dim), dtype=np.float32)
    by_text = {q: vectors[i] for i, q in enumerate(questions)}
    result = calibrate_mod.calibrate(lambda q: kb.calibration_score(q, by_text[q]), retriever.chunks)
    result["seconds"] = round(time.perf_counter() - started, 3)
    return result


def open_index(out_dir: Path, embedder: Embedder, *, nprobe: int | None = None) -> LoadedIndex:
    """Load the published version after checking that it matches the configured embedder."""
    out_dir = Path(out_dir)
    version = store.current_version(out_dir)
    manifest = store.read_manifest(version)
    built = manifest["embedder"]
    if built.get("name") != embedder.name or built.get("dim") != embedder.dim:
        raise IndexMismatch(f"{built.get('name')} ({built.get('dim')}-d)", f"{embedder.name} ({embedder.dim}-d)")
    chunks = store.read_chunks(version / store.CHUNKS)
    count = manifest["counts"].get("chunks")
    if count != len(chunks):
        raise IndexCorrupt(version, f"{store.CHUNKS} has {len(chunks)} chunks, manifest says {count}")
    vectors = store.read_vectors(version / store.VECTORS, expected=(len(chunks), embedder.dim))
    try:
        dense = load_dense(version / store.DENSE, nprobe)
        lexical = load_lexical(version / store.LEXICAL)
    except Exception as exc:  # FAISS raises RuntimeError, bm25s OSError/ValueError on damaged files
        raise IndexCorrupt(version, f"search index files are damaged ({type(exc).__name__})") from None
    if dense_count(dense) != len(chunks):
        raise IndexCorrupt(version, "dense index size differs from the chunk count")
    if int(lexical.scores["num_docs"]) != len(chunks):
        raise IndexCorrupt(version, "BM25 index size differs from the chunk count")
    retriever = Retriever(chunks=chunks, vectors=vectors, dense=dense, lexical=lexical)
    return LoadedIndex(path=version, manifest=manifest, retriever=retriever)
