"""The Teams app package and the `teams-package` command."""

from __future__ import annotations

import argparse
import json
import struct
import zipfile
import zlib
from pathlib import Path
from types import SimpleNamespace

import pytest

from channels.teams import cli
from channels.teams.package import build_teams_package

APP_ID = "3f2b6c1e-8a4d-4e7f-9b0c-1d2e3f4a5b6c"


def _png(data: bytes) -> tuple[int, int, list[tuple[int, int, int, int]]]:
    """Width, height and RGBA pixels of an 8-bit RGBA PNG without filters (what the package writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        assert struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])[0] == zlib.crc32(kind + body)
        chunks[kind] = chunks.get(kind, b"") + body
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, colour) == (8, 6)
    raw = zlib.decompress(chunks[b"IDAT"])
    stride = 1 + width * 4
    pixels = [
        tuple(raw[row * stride + 1 + x * 4 : row * stride + 5 + x * 4]) for row in range(height) for x in range(width)
    ]
    return width, height, pixels  # type: ignore[return-value]


def test_package_has_manifest_and_icons(tmp_path: Path) -> None:
    out = build_teams_package(tmp_path / "app.zip", app_id=APP_ID, host="deskhand.example.com", version="0.3.1")
    with zipfile.ZipFile(out) as archive:
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(archive.read("manifest.json"))
        color = _png(archive.read("color.png"))
        outline = _png(archive.read("outline.png"))
    assert float(manifest["manifestVersion"]) >= 1.17 and manifest["version"] == "0.3.1"
    assert manifest["id"] == APP_ID
    [bot] = manifest["bots"]
    assert bot["botId"] == APP_ID and sorted(bot["scopes"]) == ["groupChat", "personal", "team"]
    assert manifest["validDomains"] == ["deskhand.example.com"]
    assert manifest["developer"]["privacyUrl"] == "https://deskhand.example.com/privacy"
    assert len(manifest["name"]["short"]) <= 30 and len(manifest["description"]["short"]) <= 80
    assert manifest["icons"] == {"color": "color.png", "outline": "outline.png"}
    assert color[:2] == (192, 192) and {p[3] for p in color[2]} == {255}
    assert outline[:2] == (32, 32)
    # outline: white strokes on a transparent background, nothing else
    assert {p for p in outline[2] if p[3]} == {(255, 255, 255, 255)} and any(p[3] == 0 for p in outline[2])


def test_package_is_reproducible(tmp_path: Path) -> None:
    first = build_teams_package(tmp_path / "a.zip", app_id=APP_ID).read_bytes()
    second = build_teams_package(tmp_path / "b.zip", app_id=APP_ID).read_bytes()
    assert first == second


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"app_id": "my-bot"}, "GUID"),
        ({"app_id": APP_ID, "version": "1.0"}, "1.2.3"),
        ({"app_id": APP_ID, "name": "A" * 31}, "30 characters"),
        ({"app_id": APP_ID, "host": "https://deskhand.example.com/api"}, "bare host name"),
    ],
)
def test_invalid_inputs_are_explained(tmp_path: Path, kwargs: dict[str, str], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        build_teams_package(tmp_path / "x.zip", **kwargs)  # type: ignore[arg-type]
    assert not (tmp_path / "x.zip").exists()


def _command(app_id: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deskhand")
    cli.register(parser.add_subparsers(), lambda: SimpleNamespace(teams=SimpleNamespace(app_id=app_id)))
    return parser


def test_command_writes_the_package(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = _command(APP_ID).parse_args(["teams-package", "--out", str(tmp_path / "deskhand.zip")])
    assert args.func(args) == 0
    assert zipfile.is_zipfile(tmp_path / "deskhand.zip") and "deskhand.zip" in capsys.readouterr().out


def test_command_without_an_app_id_says_what_to_set(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = _command(None).parse_args(["teams-package", "--out", str(tmp_path / "deskhand.zip")])
    assert args.func(args) == 2
    assert "MICROSOFT_APP_ID" in capsys.readouterr().err and not (tmp_path / "deskhand.zip").exists()
