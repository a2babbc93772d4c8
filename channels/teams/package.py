"""The Teams app package: manifest.json (bot id, scopes) and two generated icons, zipped for sideloading."""

from __future__ import annotations

import json
import re
import struct
import uuid
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

MANIFEST_VERSION = "1.17"
MANIFEST_SCHEMA = (
    f"https://developer.microsoft.com/en-us/json-schemas/teams/v{MANIFEST_VERSION}/MicrosoftTeams.schema.json"
)
ACCENT = (0x2E, 0x6F, 0x8E)  # a calm blue-green; Teams shows it behind the colour icon
_ZIP_TIME = (2025, 1, 1, 0, 0, 0)  # fixed, so the same inputs give the same bytes
_HOST = re.compile(r"^[A-Za-z0-9.-]+(:\d+)?$")

Pixel = tuple[int, int, int, int]


def build_teams_package(
    out: Path, *, app_id: str, name: str = "Deskhand", host: str | None = None, version: str = "1.0.0"
) -> Path:
    """Write the zipped app package to `out` and return it. `app_id` is the bot's Microsoft app id (a
    GUID); `host` (e.g. "deskhand.example.com") adds the bot's domain and developer links."""
    manifest = build_manifest(app_id=app_id, name=name, host=host, version=version)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for filename, data in (
            ("manifest.json", json.dumps(manifest, indent=2).encode()),
            ("color.png", color_icon()),
            ("outline.png", outline_icon()),
        ):
            archive.writestr(zipfile.ZipInfo(filename, date_time=_ZIP_TIME), data, zipfile.ZIP_DEFLATED)
    return out


def build_manifest(*, app_id: str, name: str, host: str | None, version: str) -> dict[str, Any]:
    try:
        bot_id = str(uuid.UUID(app_id))
    except ValueError:
        raise ValueError("the Microsoft app id must be a GUID, as shown on the Azure app registration") from None
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        raise ValueError("the package version must look like 1.2.3")
    if not 0 < len(name) <= 30:
        raise ValueError("the app name must be 1 to 30 characters")
    if host is not None and not _HOST.fullmatch(host):
        raise ValueError("host must be a bare host name such as deskhand.example.com")
    site = f"https://{host}" if host else "https://www.example.com"
    manifest: dict[str, Any] = {
        "$schema": MANIFEST_SCHEMA,
        "manifestVersion": MANIFEST_VERSION,
        "version": version,
        "id": bot_id,
        "developer": {
            "name": name,
            "websiteUrl": f"{site}/",
            "privacyUrl": f"{site}/privacy",
            "termsOfUseUrl": f"{site}/terms",
        },
        "name": {"short": name, "full": f"{name}: onboarding, HR and accounts-payable assistant"},
        "description": {
            "short": "Answers onboarding, HR and AP questions; runs approved actions.",
            "full": (
                f"{name} answers onboarding, HR-policy and accounts-payable questions with citations from "
                "your company's documents, and runs account and payment actions behind approvals by the "
                "right people. Chat with it directly, or @mention it in a channel or group chat."
            ),
        },
        "icons": {"color": "color.png", "outline": "outline.png"},
        "accentColor": "#{:02X}{:02X}{:02X}".format(*ACCENT),
        "bots": [
            {
                "botId": bot_id,
                "scopes": ["personal", "team", "groupChat"],
                "supportsFiles": False,
                "isNotificationOnly": False,
                "commandLists": [
                    {
                        "scopes": ["personal", "team", "groupChat"],
                        "commands": [
                            {"title": "How do I set up the VPN?", "description": "Ask an onboarding question"},
                            {"title": "Status of INV-10042", "description": "Check an invoice"},
                            {"title": "Add me to vpn-users", "description": "Request group membership"},
                        ],
                    }
                ],
            }
        ],
        "permissions": ["identity", "messageTeamMembers"],
        "validDomains": [host] if host else [],
    }
    return manifest


def color_icon(size: int = 192) -> bytes:
    """Full-colour icon: a white speech bubble on the accent colour."""
    background: Pixel = (*ACCENT, 255)
    white: Pixel = (255, 255, 255, 255)
    return _png(size, lambda x, y: white if _in_bubble(x / size, y / size) else background)


def outline_icon(size: int = 32) -> bytes:
    """Outline icon: white on transparent only, as Teams requires."""
    clear: Pixel = (255, 255, 255, 0)
    white: Pixel = (255, 255, 255, 255)

    def pixel(x: int, y: int) -> Pixel:
        u, v = (x + 0.5) / size, (y + 0.5) / size
        inside = _in_bubble(u, v)
        edge = any(not _in_bubble(u + du, v + dv) for du, dv in ((0.09, 0), (-0.09, 0), (0, 0.09), (0, -0.09)))
        return white if inside and edge else clear

    return _png(size, pixel)


def _in_bubble(u: float, v: float) -> bool:
    """A rounded speech bubble with a tail, in unit coordinates."""
    body = ((u - 0.5) / 0.36) ** 2 + ((v - 0.45) / 0.28) ** 2 <= 1.0
    tail = 0.28 <= u <= 0.42 and 0.62 <= v <= 0.82 and (u - 0.28) >= (v - 0.62) * 0.7
    return body or tail


def _png(size: int, pixel: Callable[[int, int], Pixel]) -> bytes:
    rows = bytearray()
    for y in range(size):
        rows.append(0)  # filter: none
        for x in range(size):
            rows.extend(pixel(x, y))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + chunk(b"IEND", b"")
    )
