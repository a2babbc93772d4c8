"""The eval's outcome does not depend on today's date: its date-sensitive cases, run under two fake dates."""

from __future__ import annotations

import re
from datetime import date, timedelta

import yaml

from evals.cases import DATASET_FILES, load_file
from evals.metrics import slot_hits
from evals.runner import SAMPLE_DATA
from graphs.understanding.slots import Entities, Person, SlotExtractor

# A Monday at the end of the sample ledger's year and a Saturday two years later, across a month end.
FAKE_TODAYS = (date(2026, 11, 30), date(2028, 2, 26))
RELATIVE = re.compile(r"\b(tomorrow|monday|tuesday|wednesday|thursday|friday|saturday|sunday|next week)\b", re.I)


def sample_entities() -> Entities:
    directory = yaml.safe_load((SAMPLE_DATA / "directory.yaml").read_text(encoding="utf-8"))
    ledger = yaml.safe_load((SAMPLE_DATA / "ledger.yaml").read_text(encoding="utf-8"))
    people = [Person(p["email"], f"{p['given_name']} {p['family_name']}") for p in directory["people"]]
    groups = {g["name"]: [g.get("display_name", g["name"])] for g in directory["groups"]}
    vendors = {v["name"]: list(v.get("aliases", [])) for v in ledger["vendors"]}
    return Entities(people=people, groups=groups, vendors=vendors)


def routing_outcome(case: dict, today: date) -> tuple[int, int, str | None]:
    """What the routing suite scores (labelled slots right / labelled), plus the start date it derived."""
    slots = SlotExtractor(sample_entities(), today=today).extract(case["text"]).values
    right, total = slot_hits(case.get("slots") or {}, slots)
    return right, total, slots.get("start_date")


def test_relative_date_cases_score_the_same_under_two_fake_dates():
    cases = [c for c in load_file(DATASET_FILES["routing"])["cases"] if RELATIVE.search(c["text"])]
    assert len(cases) >= 3, "the routing set should keep its relative-date cases (monday, tomorrow, ...)"
    for case in cases:
        first, second = (routing_outcome(case, today) for today in FAKE_TODAYS)
        assert first[:2] == second[:2], case["id"]  # the scored part: identical on any date
        assert "start_date" not in (case.get("slots") or {}), f"{case['id']}: a relative date must not be labelled"
        for today, (_, _, derived) in zip(FAKE_TODAYS, (first, second), strict=True):
            if derived is not None:  # derived from the injected date, within the coming week
                assert today < date.fromisoformat(derived) <= today + timedelta(days=7), case["id"]


def test_absolute_dates_in_the_datasets_do_not_move_with_the_clock():
    for case in load_file(DATASET_FILES["routing"])["cases"]:
        expected = (case.get("slots") or {}).get("start_date")
        if expected:
            outcomes = {routing_outcome(case, today)[2] for today in FAKE_TODAYS}
            assert outcomes == {expected}, case["id"]
