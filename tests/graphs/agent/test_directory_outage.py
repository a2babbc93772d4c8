"""A SCIM directory that hangs or refuses must not delay or break knowledge answers."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.channels.faults import slow_http_server
from tests.graphs.agent.conftest import Conversation


@pytest.mark.parametrize("failure", ["hung", "refused"])
async def test_knowledge_answers_do_not_depend_on_the_directory(open_agent: Any, failure: str) -> None:
    with slow_http_server(60.0) as hung_url:
        url = hung_url + "v2" if failure == "hung" else "http://127.0.0.1:9/v2"
        async with open_agent(scim_url=url) as rt:
            chat = Conversation(rt, "bob.martin@example.com")
            started = time.monotonic()
            first = await chat.say("how many PTO days do I get per year?")
            first_took = time.monotonic() - started
            started = time.monotonic()
            second = await chat.say("when are vendor payment runs?")
            second_took = time.monotonic() - started
    assert first.route == "answer" and "[1]" in first.text
    assert second.route == "answer" and "[1]" in second.text
    assert first_took < 10.0  # the first turn waits at most briefly for the directory, never its time-outs
    assert second_took < 5.0  # later turns don't wait for it at all
