"""The terminal shows Deskhand's own warnings and one-line progress; library noise goes to the log file."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli_logging import PROGRESS_LOGGER, configure_cli_logging


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    logging.captureWarnings(False)


def test_library_noise_goes_to_the_log_file_not_the_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    path = configure_cli_logging(tmp_path, "INFO")
    import bm25s  # noqa: F401  (sets its own logger to DEBUG on import)

    logging.getLogger("bm25s").debug("Building index from tokens")
    logging.getLogger("bm25s").info("Building index from tokens (info)")
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("Converting a tensor to a Python boolean might cause the trace to be incorrect", stacklevel=1)
    logging.getLogger("transformers.modeling_utils").warning("Some weights were not used")
    logging.getLogger(PROGRESS_LOGGER).info("preparing the embedding model (once, about a minute)…")
    logging.getLogger("knowledge.ingest").warning("skipped a.pptx: unsupported file type .pptx")
    logging.getLogger("knowledge.ingest").info("decoded a cp1252 file (not UTF-8)")
    for handler in logging.getLogger().handlers:
        handler.flush()
    terminal = capsys.readouterr().err.splitlines()
    assert terminal == [
        "preparing the embedding model (once, about a minute)…",
        "skipped a.pptx: unsupported file type .pptx",
    ]
    logged = path.read_text(encoding="utf-8")
    assert "Converting a tensor" in logged and "Some weights were not used" in logged
    assert "Building index from tokens (info)" in logged and "DEBUG" not in logged
    assert "decoded a cp1252 file" in logged


def test_a_repeated_warning_is_shown_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    configure_cli_logging(tmp_path, "WARNING")
    for _ in range(3):
        logging.getLogger("bot.settings").warning("DESKHAND_X is not a Deskhand setting and is ignored")
    assert capsys.readouterr().err.count("DESKHAND_X") == 1
