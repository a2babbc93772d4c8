"""The eval datasets load, ids are unique, and what they name exists in the sample world."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from evals.cases import (
    DATASET_FILES,
    EXTERNAL_CORPORA,
    SHARED_CORPORA,
    SUITES,
    DatasetError,
    load_file,
    select,
    tag_key,
)
from evals.metrics import contains_fact
from evals.runner import SAMPLE_CORPUS, SAMPLE_DATA
from evals.suite_conversations import _check as check_script
from evals.suite_policy import _check as check_policy_case
from evals.suite_safety import _check as check_safety_case


def people() -> set[str]:
    data = yaml.safe_load((SAMPLE_DATA / "directory.yaml").read_text())
    return {p["email"] for p in data["people"]}


def test_every_suite_dataset_loads_with_enough_cases():
    minimum = {"knowledge": 40, "knowledge_18f": 40, "knowledge_posthog": 50}
    minimum |= {"routing": 150, "policy": 40, "conversations": 20, "safety": 20}
    for name in SUITES:
        cases = load_file(DATASET_FILES[name])["cases"]
        assert len(cases) >= minimum[name], name
        assert all(c.get("tags") is not None for c in cases), name


def test_knowledge_sources_exist_and_hold_their_facts():
    for case in load_file(DATASET_FILES["knowledge"])["cases"]:
        texts = [(SAMPLE_CORPUS / s).read_text(encoding="utf-8") for s in case["expected_sources"]]
        for fact in case["facts"]:
            assert any(contains_fact(t, fact) for t in texts), (case["id"], fact)


@pytest.mark.parametrize("suite", ["knowledge_18f", "knowledge_posthog"])
def test_public_handbook_sets_have_enough_questions_and_near_misses(suite: str):
    cases = load_file(DATASET_FILES[suite])["cases"]
    answers = [c for c in cases if c["expect"] == "answer"]
    near_misses = [c for c in cases if c["expect"] == "no_answer" and "near-miss" in c["tags"]]
    assert len(answers) >= 40 and len(near_misses) >= 10, suite
    for c in answers:
        assert c["expected_sources"] and 1 <= len(c["facts"]) <= 2, c["id"]
    for c in cases:
        if c["expect"] != "answer":
            assert not c["expected_sources"] and not c["facts"], c["id"]
    root = SHARED_CORPORA / EXTERNAL_CORPORA[suite][0]
    if root.is_dir():  # beside the repository on CI and the project machine; elsewhere only the shape is checked
        for c in answers:
            first = (root / c["expected_sources"][0]).read_text(encoding="utf-8")
            assert all((root / s).is_file() for s in c["expected_sources"]), c["id"]
            # each fact appears in the first source outside link URLs (an ingester may drop those)
            text = re.sub(r"\]\([^)]*\)", "]", first)
            assert all(contains_fact(text, f) for f in c["facts"]), c["id"]


def test_policy_and_script_cases_are_well_formed_and_name_real_people():
    known = people()
    for case in load_file(DATASET_FILES["policy"])["cases"]:
        check_policy_case(case)
        assert case["requester"].lower() not in {a.lower() for a in case["expect"]["approvers"]}, case["id"]
        assert set(case["expect"]["approvers"]) <= known, case["id"]
    for case in load_file(DATASET_FILES["conversations"])["cases"]:
        check_script(case)
        for step in case["steps"]:
            for who in (step.get("user"), step.get("approver")):
                assert who is None or who in known, (case["id"], who)
    for case in load_file(DATASET_FILES["safety"])["cases"]:
        check_safety_case(case)
        assert case["user"] in known


def test_yaml_yes_and_no_must_be_quoted_in_scripts():
    script = {"id": "c", "steps": [{"user": "bob.martin@example.com", "say": True}]}  # `say: yes` unquoted
    with pytest.raises(DatasetError, match="quote yes/no"):
        check_script(script)


def test_tag_selection_treats_dashes_and_underscores_alike():
    cases = [{"id": "a", "tags": ["near_miss"]}, {"id": "b", "tags": ["near-miss"]}, {"id": "c", "tags": ["ap"]}]
    assert [c["id"] for c in select(cases, ["Near-Miss"])] == ["a", "b"]
    assert [c["id"] for c in select(cases, [], limit=2)] == ["a", "b"]
    assert tag_key("Off_Topic") == "off-topic"


def test_a_duplicate_id_or_broken_line_is_reported_with_the_file(tmp_path: Path):
    dup = tmp_path / "d.jsonl"
    dup.write_text('{"id": "x", "tags": []}\n{"id": "x", "tags": []}\n')
    with pytest.raises(DatasetError, match="used twice"):
        load_file(dup)
    broken = tmp_path / "b.jsonl"
    broken.write_text('{"id": "x"\n')
    with pytest.raises(DatasetError, match=r"b\.jsonl:1"):
        load_file(broken)
