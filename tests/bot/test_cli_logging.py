"""The terminal shows Deskhand's own warnings and one-line progress; library noise goes to the log file."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import pytest

from bot.cli_logging import PROGRESS_LOGGER, configure_cli_logging


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


def test_warnings_reach_the_log_file_when_configured_again_after_someone_reset_them(
    tmp_path: Path, restore_logging: None
) -> None:
    # An earlier configuration in the same process (another command run in-process, another test), whose
    # capture was undone from outside: a `catch_warnings` block restores the `showwarning` it found.
    with warnings.catch_warnings():
        configure_cli_logging(tmp_path / "first", "INFO")
    path = configure_cli_logging(tmp_path / "second", "INFO")
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("the export could not be traced exactly", stacklevel=1)
    for handler in logging.getLogger().handlers:
        handler.flush()
    assert "the export could not be traced exactly" in path.read_text(encoding="utf-8")
