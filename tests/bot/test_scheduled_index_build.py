"""The scheduled index build (`DESKHAND_INDEX_BUILD_CRON`) builds as `deskhand index build` does, source
URLs included: without them a scheduled rebuild published an index whose citations had lost their links."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from bot.jobs import JobContext, build_index
from knowledge.embedder import load_embedder

MODEL_CACHE = Path(tempfile.gettempdir()) / "deskhand-models"  # the knowledge tests' ONNX export cache


def test_the_scheduled_build_keeps_the_configured_source_urls(tmp_path: Path) -> None:
    source = tmp_path / "handbook"
    (source / "pay").mkdir(parents=True)
    (source / "pay" / "expenses.md").write_text(
        "# Expenses\n\n## Receipts\n\nKeep every receipt over twenty dollars and submit it within thirty days.\n",
        encoding="utf-8",
    )
    out = tmp_path / "index"
    ctx = JobContext(
        agent=None,
        approvals=None,
        audit=None,
        directory=None,
        keys=None,  # type: ignore[arg-type]  # unused without a timestamp
        queue=None,  # type: ignore[arg-type]
        index_sources=[source],
        index_dir=out,
        source_urls={"handbook": "https://handbook.example.com/"},
        embedder=load_embedder("auto", MODEL_CACHE),
    )
    asyncio.run(build_index(ctx))
    manifests = list(out.glob("versions/*/manifest.json"))
    assert len(manifests) == 1
    assert "https://handbook.example.com/pay/expenses" in manifests[0].read_text(encoding="utf-8")
