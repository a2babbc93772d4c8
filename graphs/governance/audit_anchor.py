"""Anchors of the audit chain's head kept outside the database, so a cut-off or rebuilt log is detectable."""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path

from graphs.governance.audit import AuditLog, as_utc

log = logging.getLogger(__name__)


class AnchorError(Exception):
    """The anchor file can't be read as anchors (the message says where)."""


def read_anchors(path: Path) -> dict[int, str]:
    """seq → head hash for every line of an anchor file (JSON lines with `seq` and `hash`)."""
    anchors: dict[int, str] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise AnchorError(f"cannot read the anchor file {path} ({type(exc).__name__})") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            seq, head = int(item["seq"]), str(item["hash"])
        except (ValueError, KeyError, TypeError):
            raise AnchorError(f"{path}:{number} is not an anchor line") from None
        if seq > 0:
            anchors[seq] = head
    return anchors


def write_anchor(audit: AuditLog, path: Path, now: datetime | None = None) -> tuple[int, str] | None:
    """Append the chain's current head to `path` (and log it) unless it is already the last line there;
    returns the (seq, hash) written, or None when nothing was new."""
    seq, head = audit.head()
    if seq == 0:
        return None
    last = _last_line(path)
    if last is not None and last.get("seq") == seq and last.get("hash") == head:
        return None
    at = as_utc(now or datetime.now(UTC)).isoformat(timespec="seconds")
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"at": at, "seq": seq, "hash": head}, sort_keys=True) + "\n"
    # Appending with O_APPEND keeps concurrent writers' lines whole; fsync so a crash can't lose it.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, line.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    log.info("audit anchor seq=%d head=%s", seq, head)  # a second copy, in the log stream
    return seq, head


def _last_line(path: Path) -> dict[str, object] | None:
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 512))
            tail = handle.read().decode("utf-8", "replace").strip().splitlines()
    except OSError:
        return None
    try:
        item = json.loads(tail[-1]) if tail else None
    except ValueError:
        return None
    return item if isinstance(item, dict) else None
