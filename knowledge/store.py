"""On-disk layout of the versioned index: versions/<name>/, an atomically swapped CURRENT pointer, pruning."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from knowledge.errors import IndexBusy, IndexCorrupt, IndexMissing
from knowledge.types import Chunk

if TYPE_CHECKING:  # numpy loads when vectors are read, not for `index status` (the manifest alone)
    import numpy as np

FORMAT_VERSION = 1
CURRENT = "CURRENT"
VERSIONS = "versions"
MANIFEST = "manifest.json"
VECTORS = "vectors.npy"
CHUNKS = "chunks.jsonl"
DENSE = "dense.faiss"
LEXICAL = "bm25"
KEEP_VERSIONS = 3


def new_version_name() -> str:
    """Sortable, unique enough for one writer at a time (builds are serialised by a lock)."""
    now = datetime.now(UTC)
    return now.strftime("%Y%m%dT%H%M%S") + f"{now.microsecond:06d}Z"


@contextlib.contextmanager
def build_lock(out_dir: Path) -> Iterator[None]:
    """Serialise builders of one index directory (readers never take it)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / ".build.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IndexBusy(out_dir) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def staging_dir(out_dir: Path, name: str) -> Path:
    path = out_dir / VERSIONS / f".tmp-{name}"
    path.mkdir(parents=True)
    return path


def publish(out_dir: Path, staged: Path, name: str) -> Path:
    """Move a fully written version into place, then swap CURRENT in one atomic rename."""
    final = out_dir / VERSIONS / name
    os.replace(staged, final)
    _fsync_dir(final.parent)
    pointer_tmp = out_dir / f".{CURRENT}.tmp"
    with open(pointer_tmp, "w", encoding="utf-8") as handle:
        handle.write(name + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(pointer_tmp, out_dir / CURRENT)
    _fsync_dir(out_dir)
    return final


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def prune(out_dir: Path, keep: int = KEEP_VERSIONS) -> list[str]:
    """Delete all but the newest `keep` versions (never the current one) and stale staging dirs."""
    root = out_dir / VERSIONS
    if not root.is_dir():
        return []
    current = read_pointer(out_dir)
    for stale in root.glob(".tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    names = sorted((p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")), reverse=True)
    removed = [n for n in names[keep:] if n != current]
    for name in removed:
        shutil.rmtree(root / name, ignore_errors=True)
    return removed


def list_versions(out_dir: Path) -> list[str]:
    root = out_dir / VERSIONS
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def read_pointer(out_dir: Path) -> str | None:
    try:
        name = (out_dir / CURRENT).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise IndexCorrupt(out_dir, f"CURRENT pointer unreadable: {exc.strerror}") from None
    return name or None


def current_version(out_dir: Path) -> Path:
    """The directory of the published version; IndexMissing/IndexCorrupt when there is none."""
    name = read_pointer(out_dir)
    if name is None:
        raise IndexMissing(out_dir)
    if "/" in name or name.startswith("."):
        raise IndexCorrupt(out_dir, "CURRENT pointer names an invalid version")
    path = out_dir / VERSIONS / name
    if not path.is_dir():
        raise IndexCorrupt(out_dir, f"CURRENT points at missing version {name}")
    return path


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def read_manifest(version_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads((version_dir / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexCorrupt(version_dir, "manifest.json is missing") from None
    except (OSError, ValueError):
        raise IndexCorrupt(version_dir, "manifest.json is not valid JSON") from None
    if not isinstance(data, dict) or data.get("format_version") != FORMAT_VERSION:
        raise IndexCorrupt(version_dir, "unknown manifest format")
    for key in ("embedder", "counts", "documents", "dense"):
        if key not in data:
            raise IndexCorrupt(version_dir, f"manifest has no {key!r}")
    return data


def write_chunks(path: Path, chunks: list[Chunk]) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for chunk in chunks:
            record = {
                "id": chunk.id,
                "source": chunk.source,
                "title": chunk.title,
                "heading": chunk.heading,
                "text": chunk.text,
                "doc_hash": chunk.doc_hash,
                "chunk_hash": chunk.chunk_hash,
                "url": chunk.url,
            }
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def read_chunks(path: Path) -> list[Chunk]:
    chunks: list[Chunk] = []
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                record = json.loads(line)
                chunks.append(Chunk(**record))
    except FileNotFoundError:
        raise IndexCorrupt(path.parent, f"{path.name} is missing") from None
    except (OSError, ValueError, TypeError):
        raise IndexCorrupt(path.parent, f"{path.name} is damaged") from None
    return chunks


def read_vectors(path: Path, *, expected: tuple[int, int]) -> np.ndarray:
    import numpy as np

    try:
        vectors = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise IndexCorrupt(path.parent, f"{path.name} is missing") from None
    except (OSError, ValueError):
        raise IndexCorrupt(path.parent, f"{path.name} is damaged") from None
    if vectors.dtype != np.float32 or vectors.shape != expected:
        raise IndexCorrupt(path.parent, f"{path.name} has shape {vectors.shape}, expected {expected}")
    return np.asarray(vectors)
