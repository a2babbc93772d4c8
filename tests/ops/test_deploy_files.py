"""The deployment files, checked statically (images can't be built here): hadolint for the Dockerfile, the
Compose specification's JSON schema for compose.yaml, and the Procfile's process types."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed (it is in the dev extra)")
    return found


def test_dockerfile_passes_hadolint_and_runs_as_non_root():
    done = subprocess.run([_tool("hadolint"), str(ROOT / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert text.count("\nFROM ") >= 1 and text.count("FROM ") == 2, "multi-stage: build and runtime"
    assert "USER 10001" in text and "load_embedder('auto'" in text


def test_hadolint_would_catch_a_bad_dockerfile(tmp_path: Path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN cd /tmp && apt-get install curl\n", encoding="utf-8")
    done = subprocess.run([_tool("hadolint"), str(bad)], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0


def test_compose_file_matches_the_compose_specification(tmp_path: Path):
    checker = _tool("check-jsonschema")
    ok = subprocess.run(
        [checker, "--builtin-schema", "vendor.compose-spec", str(ROOT / "compose.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    spec = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    assert {"web-1", "web-2", "worker", "postgres", "redis", "setup"} <= set(spec["services"])
    broken = tmp_path / "compose.yaml"
    broken.write_text("services:\n  web:\n    image: x\n    ports: 3000\n", encoding="utf-8")
    bad = subprocess.run(
        [checker, "--builtin-schema", "vendor.compose-spec", str(broken)], capture_output=True, text=True, timeout=120
    )
    assert bad.returncode != 0, "the schema check must reject an invalid file"


def test_procfile_has_web_and_worker():
    lines = dict(
        line.split(":", 1) for line in (ROOT / "Procfile").read_text(encoding="utf-8").splitlines() if line.strip()
    )
    assert lines["web"].strip().startswith("deskhand serve") and lines["worker"].strip() == "deskhand worker"
