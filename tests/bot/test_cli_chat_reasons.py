"""The terminal chat's /reject needs a reason (the requester is told it); nothing is decided without one."""

from __future__ import annotations

import pytest

from bot.cli_agent import REASON_NEEDED, _chat_command


class _NoRuntime:
    """Any use of the runtime fails the test: a refused command must not reach the agent."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"the runtime was used ({name})")


async def test_reject_without_a_reason_is_refused_before_anything_is_decided(capsys: pytest.CaptureFixture[str]):
    done, conversation = await _chat_command(_NoRuntime(), "/reject apr_x1 --as dan.okafor@example.com", "c1")
    assert (done, conversation) == (False, "c1")
    assert capsys.readouterr().out.strip() == REASON_NEEDED
