"""What the published index holds, read from its manifest alone (no numpy/FAISS: `index status` stays quick)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from knowledge import store


def index_status(out_dir: Path) -> dict[str, Any]:
    """A summary of the published version; raises IndexMissing / IndexCorrupt."""
    out_dir = Path(out_dir)
    version = store.current_version(out_dir)
    manifest = store.read_manifest(version)
    return {
        "path": str(out_dir),
        "version": manifest.get("version", version.name),
        "built_at": manifest.get("built_at"),
        "build_seconds": manifest.get("build_seconds"),
        "embedder": manifest["embedder"].get("name"),
        "dim": manifest["embedder"].get("dim"),
        "dense": manifest["dense"].get("type"),
        "documents": manifest["counts"].get("documents"),
        "chunks": manifest["counts"].get("chunks"),
        "embedded": manifest["counts"].get("embedded"),
        "reused": manifest["counts"].get("reused"),
        "skipped": manifest.get("skipped", []),
        "sources": manifest.get("sources", []),
        "versions": store.list_versions(out_dir),
    }
