"""A running server picks up a newly published index; builds calibrate their own answer threshold."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from knowledge.answer import KnowledgeBase
from knowledge.embedder import Embedder
from knowledge.index import build_index
from knowledge.live import LiveKnowledgeBase
from knowledge.store import read_manifest, read_pointer

DOCS = {
    "hr/leave.md": "# Leave\n\n## Annual leave\n\nEmployees get 20 days of annual leave each year.\n",
    "it/vpn.md": "# VPN\n\n## Setup\n\nInstall the Tunnelbear client from the self-service portal.\n",
}


def _write(root: Path, docs: dict[str, str]) -> Path:
    for rel, text in docs.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


def _eventually(check: object, seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.05)  # polling a condition with a deadline, not sleeping as synchronisation
    return False


def test_build_stores_a_calibrated_boundary_in_the_manifest(tmp_path: Path, embedder: Embedder) -> None:
    src = _write(tmp_path / "src", DOCS)
    report = build_index([src], tmp_path / "idx", embedder)
    calibration = read_manifest(report.path)["calibration"]
    assert calibration["probes"]["n"] >= 50 and calibration["pseudo_questions"]["n"] >= 2
    assert calibration["probes"]["q90"] < calibration["boundary"] < calibration["pseudo_questions"]["q50"]
    kb = KnowledgeBase.open(tmp_path / "idx", embedder)
    assert kb.boundary == calibration["boundary"]
    assert kb.answer("how many days of annual leave do I get?").found
    assert not kb.answer("what's the best recipe for pancakes?").found


def test_a_new_version_is_served_without_restart_and_without_dropping_requests(
    tmp_path: Path, embedder: Embedder
) -> None:
    src = _write(tmp_path / "src", DOCS)
    out = tmp_path / "idx"
    build_index([src], out, embedder)
    live = LiveKnowledgeBase(out, lambda: KnowledgeBase.open(out, embedder), interval=0.0)
    first = live.version
    assert "20 days" in live.answer("how many days of annual leave do I get?").text

    errors: list[BaseException] = []
    stop = threading.Event()

    def asker() -> None:
        while not stop.is_set():
            try:
                live.answer("how many days of annual leave do I get?")
            except BaseException as exc:  # any failure during the swap is a dropped request
                errors.append(exc)

    thread = threading.Thread(target=asker)
    thread.start()
    try:
        _write(src, {"hr/leave.md": "# Leave\n\n## Annual leave\n\nEmployees get 25 days of annual leave each year.\n"})
        report = build_index([src], out, embedder)
        assert report.published and read_pointer(out) == report.version
        assert _eventually(lambda: live.version == report.version)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert live.version != first and errors == []
    assert "25 days" in live.answer("how many days of annual leave do I get?").text


def test_a_version_that_fails_to_load_keeps_the_old_one_serving(tmp_path: Path, embedder: Embedder) -> None:
    src = _write(tmp_path / "src", DOCS)
    out = tmp_path / "idx"
    build_index([src], out, embedder)
    live = LiveKnowledgeBase(out, lambda: KnowledgeBase.open(out, embedder), interval=0.0)
    first = live.version
    (out / "CURRENT").write_text("no-such-version\n")  # a broken publish
    live.answer("vpn client?")
    assert _eventually(lambda: live._loader is not None and not live._loader.is_alive())
    assert live.version == first and live.answer("which vpn client do I install?").found
