"""Fixtures for the governance tests: an approval store on each database."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from graphs.governance.approvals import ApprovalStore


@pytest.fixture
def store(sessions: sessionmaker[Session]) -> ApprovalStore:
    return ApprovalStore(sessions)
