"""Where the command line's log records go: details to a log file, only Deskhand's own warnings to the terminal."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

LOG_FILE_NAME = "deskhand.log"
# One-line progress meant for the person at the terminal (e.g. the one-time model preparation).
PROGRESS_LOGGER = "deskhand.progress"
OUR_PACKAGES = ("bot", "channels", "graphs", "knowledge", "tools", "evals")


class _Terminal(logging.Filter):
    """Lets through our own warnings and errors and the progress lines, each message once; library
    chatter (bm25s debug lines, export warnings from torch) stays in the log file."""

    def __init__(self) -> None:
        super().__init__()
        self._shown: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        top = record.name.split(".")[0]
        progress = record.name == PROGRESS_LOGGER
        if not progress and (top not in OUR_PACKAGES or record.levelno < logging.WARNING):
            return False
        message = record.getMessage()
        if message in self._shown:  # settings are read more than once per command
            return False
        self._shown.add(message)
        record.exc_info = record.exc_info if record.levelno >= logging.ERROR and not progress else None
        return True


def configure_cli_logging(data_dir: Path, level: str) -> Path:
    """Send everything at `level` (and Python warnings) to `<data_dir>/deskhand.log`; show the terminal
    only what `_Terminal` lets through, one plain line each. Returns the log file's path."""
    path = data_dir / LOG_FILE_NAME
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_deskhand_cli", False):
            root.removeHandler(handler)
            handler.close()
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        to_file: logging.Handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:  # a read-only data dir: keep the terminal quiet rather than fail the command
        to_file = logging.NullHandler()
    to_file.setLevel(level)
    to_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    terminal = logging.StreamHandler(sys.stderr)
    terminal.setLevel(logging.INFO)
    terminal.addFilter(_Terminal())
    terminal.setFormatter(logging.Formatter("%(message)s"))
    for handler in (to_file, terminal):
        handler._deskhand_cli = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(min(logging.getLevelName(level), logging.INFO))
    logging.getLogger("bm25s").setLevel(logging.INFO)  # it sets itself to DEBUG on import
    # TracerWarning/UserWarning from the ONNX export → the log file. Off first: `captureWarnings(True)` does
    # nothing while logging believes it already captures, even after someone else (a `catch_warnings` block
    # ending, a test runner) put another `warnings.showwarning` back, so a second call would capture nothing.
    logging.captureWarnings(False)
    logging.captureWarnings(True)
    return path
