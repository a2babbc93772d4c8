"""`deskhand index build|status`: build the knowledge index and show what is published."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.settings import Settings


log = logging.getLogger(__name__)


def register(subparsers: Any, load_settings_fn: Callable[[], Settings]) -> None:
    """Add the `index` command group to the top-level CLI's subparsers."""
    index = subparsers.add_parser(
        "index",
        help="build or inspect the knowledge index",
        description="Build the knowledge index from Markdown/text/HTML/PDF folders, or show its status.",
    )
    commands = index.add_subparsers(dest="index_command", metavar="{build,status}", required=True)

    build = commands.add_parser(
        "build",
        help="(re)build the index; only new or changed documents are embedded again",
        description=(
            "Ingest the knowledge folders, embed new or changed documents, and publish a new index "
            "version atomically (a running server keeps answering from the previous version meanwhile)."
        ),
    )
    build.add_argument(
        "--source",
        action="append",
        type=Path,
        metavar="DIR",
        help="a folder of documents to index (repeatable; default: DESKHAND_KNOWLEDGE_DIR)",
    )
    build.add_argument(
        "--out", type=Path, metavar="DIR", help="index directory (default: DESKHAND_INDEX_DIR or <data dir>/index)"
    )
    build.add_argument("--quiet", action="store_true", help="no progress bar")
    build.set_defaults(func=lambda args: _build(args, load_settings_fn))

    status = commands.add_parser(
        "status",
        help="show the published index version, embedder and counts",
        description="Print a summary of the published index; exit 1 when it is missing or unreadable.",
    )
    status.add_argument(
        "--index", type=Path, metavar="DIR", help="index directory (default: DESKHAND_INDEX_DIR or <data dir>/index)"
    )
    status.set_defaults(func=lambda args: _status(args, load_settings_fn))


def _settings(load_settings_fn: Callable[[], Settings]) -> Settings | None:
    from bot.settings import SettingsError

    try:
        return load_settings_fn()
    except SettingsError as exc:
        _error(exc)
        return None


def _build(args: argparse.Namespace, load_settings_fn: Callable[[], Settings]) -> int:
    from rich.console import Console

    from knowledge.embedder import EmbedderUnavailable, load_embedder
    from knowledge.errors import KnowledgeError
    from knowledge.index import build_index

    console = Console(stderr=True)
    settings = _settings(load_settings_fn)
    if settings is None:
        return 2
    sources: list[Path] = args.source or list(settings.knowledge_dir)
    out: Path = args.out or settings.resolved_index_dir
    missing = [s for s in sources if not s.is_dir()]
    if missing:
        _error(f"knowledge folder not found: {', '.join(str(m) for m in missing)}")
        return 1
    try:
        embedder = load_embedder(settings.embedder_backend, settings.cache_dir / "models")
        report = build_index(
            sources,
            out,
            embedder,
            progress=not args.quiet and console.is_terminal,
            source_urls=settings.source_urls,
        )
    except (KnowledgeError, EmbedderUnavailable) as exc:
        _error(exc)
        return 1
    for skipped in report.skipped:
        console.print(f"[yellow]skipped {skipped.source}: {skipped.reason}[/yellow]")
    rate = f", {report.chunks_per_second:.1f} chunks/s" if report.embedded else ""
    if not report.published:
        print(f"nothing changed: index version {report.version} at {out} stays published ({report.chunks} chunks)")
        return 0
    print(
        f"published index version {report.version} at {out}\n"
        f"  {report.documents} documents, {report.chunks} chunks "
        f"({report.embedded} embedded, {report.reused} reused{rate}; "
        f"{report.documents_embedded} documents new or changed)\n"
        f"  embedder {report.embedder}; {len(report.skipped)} files skipped; {report.seconds:.1f}s"
    )
    return 0


def _status(args: argparse.Namespace, load_settings_fn: Callable[[], Settings]) -> int:
    from knowledge.errors import KnowledgeError
    from knowledge.status import index_status

    path: Path | None = args.index
    if path is None:
        settings = _settings(load_settings_fn)
        if settings is None:
            return 2
        path = settings.resolved_index_dir
    try:
        status = index_status(path)
    except KnowledgeError as exc:
        _error(exc)
        return 1
    print(f"index:      {status['path']}")
    print(f"version:    {status['version']} (built {status['built_at']}, {status['build_seconds']}s)")
    print(f"embedder:   {status['embedder']} ({status['dim']}-d)")
    print(f"dense:      {status['dense']}")
    print(f"documents:  {status['documents']} ({len(status['skipped'])} files skipped)")
    print(f"chunks:     {status['chunks']} ({status['embedded']} embedded, {status['reused']} reused)")
    print(f"sources:    {', '.join(status['sources'])}")
    print(f"versions:   {', '.join(status['versions'])}")
    return 0


def _error(message: object) -> None:
    """One plain line on stderr (rich would wrap it at 80 columns when not on a terminal)."""
    print(f"deskhand: {message}", file=sys.stderr)
