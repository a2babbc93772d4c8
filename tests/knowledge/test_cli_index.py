"""`deskhand index build|status` through argparse, with settings from the real settings loader."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from bot.cli_index import register
from bot.settings import Settings, load_settings

from .conftest import MODEL_CACHE


def _run(argv: list[str], settings: Settings) -> int:
    parser = argparse.ArgumentParser(prog="deskhand")
    register(parser.add_subparsers(dest="command", required=True), lambda: settings)
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


def test_build_then_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "docs"
    (src / "it").mkdir(parents=True)
    (src / "it" / "vpn.md").write_text("# VPN\n\nInstall the Tunnelbear client from the portal.\n")
    (src / "it" / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    data, cache = tmp_path / "data", tmp_path / "cache"
    cache.mkdir()
    MODEL_CACHE.mkdir(parents=True, exist_ok=True)
    (cache / "models").symlink_to(MODEL_CACHE)  # reuse the exported model instead of exporting again
    settings = load_settings(data_dir=data, cache_dir=cache, knowledge_dir=[src])

    assert _run(["index", "build", "--quiet"], settings) == 0
    out, err = capsys.readouterr()
    assert "published index version" in out and "1 documents, 1 chunks (1 embedded, 0 reused" in out
    assert "skipped it/photo.jpg: unsupported file type .jpg" in err

    assert _run(["index", "status"], settings) == 0
    out, _ = capsys.readouterr()
    assert f"index:      {data / 'index'}" in out
    assert "chunks:     1 (1 embedded, 0 reused)" in out and "documents:  1 (1 files skipped)" in out


def test_status_of_a_missing_index_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = load_settings(data_dir=tmp_path)
    assert _run(["index", "status", "--index", str(tmp_path / "nowhere")], settings) == 1
    _, err = capsys.readouterr()
    assert "no knowledge index at" in err and "deskhand index build" in err


def test_build_with_a_missing_source_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = load_settings(data_dir=tmp_path)
    assert _run(["index", "build", "--source", str(tmp_path / "nope"), "--quiet"], settings) == 1
    assert "knowledge folder not found" in capsys.readouterr().err


def test_help_texts(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        _run(["index", "build", "--help"], load_settings(data_dir=tmp_path))
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "--source DIR" in out and "DESKHAND_KNOWLEDGE_DIR" in out and "--out DIR" in out
