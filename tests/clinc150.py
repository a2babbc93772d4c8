"""Real utterances from CLINC150 (Larson et al., EMNLP 2019; CC BY 3.0), read from ../shared at test time.

The data set is never copied into the repository. CI's checkout has `../shared` beside it; elsewhere set
DESKHAND_SHARED_CORPORA to the folder holding `clinc150/`. A missing data set fails the test (never a skip).
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

from evals.cases import SHARED_CORPORA

# CLINC150's "work" domain: real phrasings of HR questions (about the asker's own pay, leave, benefits).
WORK_INTENTS = frozenset(
    {
        "pto_request",
        "pto_balance",
        "pto_request_status",
        "pto_used",
        "payday",
        "w2",
        "direct_deposit",
        "insurance",
        "insurance_change",
        "rollover_401k",
        "next_holiday",
        "income",
        "taxes",
        "meeting_schedule",
        "schedule_meeting",
    }
)


@lru_cache(maxsize=1)
def clinc150() -> dict[str, list[list[str]]]:
    root = Path(os.environ.get("DESKHAND_SHARED_CORPORA") or SHARED_CORPORA)
    path = root / "clinc150" / "data_full.json"
    if not path.exists():
        raise FileNotFoundError(f"CLINC150 is not at {path}: set DESKHAND_SHARED_CORPORA to the shared corpora folder")
    data: dict[str, list[list[str]]] = json.loads(path.read_text(encoding="utf-8"))
    return data


def utterances(split: str, intents: frozenset[str] | None = None) -> list[str]:
    """The texts of `split` (train, val, test, oos_test…), optionally only those of `intents`."""
    return [text for text, intent in clinc150()[split] if intents is None or intent in intents]


def by_intent(split: str, intent: str) -> list[str]:
    return [text for text, label in clinc150()[split] if label == intent]
