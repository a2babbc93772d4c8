"""Loads the eval datasets (JSONL or YAML), checks their shape, and selects cases by tag and limit."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

DATASETS = Path(__file__).resolve().parent / "datasets"
REPO_ROOT = Path(__file__).resolve().parent.parent
# Public handbooks kept beside the repository (CI's checkout has `../shared` next to it), not inside it.
SHARED_CORPORA = REPO_ROOT.parent / "shared" / "corpora"
SHARED_18F = SHARED_CORPORA / "18f-handbook"
# suite -> (folder under the shared corpora, what to call it in the "skipped" line)
EXTERNAL_CORPORA = {
    "knowledge_18f": ("18f-handbook", "the 18F handbook"),
    "knowledge_posthog": ("posthog-handbook", "the PostHog handbook"),
}
SUITES = ("knowledge", "knowledge_18f", "knowledge_posthog", "routing", "policy", "conversations", "safety")
DATASET_FILES = {
    "knowledge": DATASETS / "knowledge.jsonl",
    "knowledge_18f": DATASETS / "knowledge_18f.jsonl",
    "knowledge_posthog": DATASETS / "knowledge_posthog.jsonl",
    "routing": DATASETS / "routing.jsonl",
    "policy": DATASETS / "policy.yaml",
    "conversations": DATASETS / "conversations.yaml",
    "safety": DATASETS / "safety.yaml",
}


class DatasetError(Exception):
    """A dataset file is missing or malformed; the message names the file and the case."""


def load_file(path: Path) -> dict[str, Any]:
    """`{"cases": [...], ...}` from a JSONL file (one case a line) or a YAML file with a `cases` list."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        raise DatasetError(f"{path}: cannot read the dataset") from None
    if path.suffix == ".jsonl":
        cases = []
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                cases.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{path}:{n}: not valid JSON ({exc.msg})") from None
        data: dict[str, Any] = {"cases": cases}
    else:
        try:
            loaded = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f":{mark.line + 1}" if mark is not None else ""
            raise DatasetError(f"{path}{where}: not valid YAML") from None
        if not isinstance(loaded, dict) or not isinstance(loaded.get("cases"), list):
            raise DatasetError(f"{path}: expected a mapping with a `cases` list")
        data = loaded
    _check_cases(path, data["cases"])
    return data


def _check_cases(path: Path, cases: list[Any]) -> None:
    seen: set[str] = set()
    for i, case in enumerate(cases, start=1):
        if not isinstance(case, dict):
            raise DatasetError(f"{path}: case #{i} is not a mapping")
        cid = case.get("id")
        if not isinstance(cid, str) or not cid:
            raise DatasetError(f"{path}: case #{i} has no id")
        if cid in seen:
            raise DatasetError(f"{path}: case id {cid!r} is used twice")
        seen.add(cid)
        tags = case.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise DatasetError(f"{path}: case {cid}: tags must be a list of strings")


def tag_key(tag: str) -> str:
    """Tags match case-insensitively and treat `-` and `_` alike (`near-miss` finds `near_miss`)."""
    return tag.strip().casefold().replace("_", "-")


def select(cases: Sequence[dict[str, Any]], tags: Iterable[str] = (), limit: int | None = None) -> list[dict[str, Any]]:
    """Cases carrying any of `tags` (all when none given), then the first `limit` of them, in file order."""
    wanted = {tag_key(t) for t in tags}
    chosen = [c for c in cases if not wanted or wanted & {tag_key(t) for t in c.get("tags", [])}]
    return chosen[:limit] if limit is not None and limit >= 0 else chosen


def require(case: dict[str, Any], field: str, kind: type | tuple[type, ...]) -> Any:
    """A case field of the given type, or a DatasetError naming the case and the field."""
    value = case.get(field)
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise DatasetError(f"case {case.get('id')}: field {field!r} must be {names}")
    return value
