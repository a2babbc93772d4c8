"""The terminal chat's `/more` and `ask --json`'s `full_section`: a shortened answer offers its whole section
and `/more` prints it; with nothing cut there is nothing more to show."""

from __future__ import annotations

import argparse
import builtins
import json
from pathlib import Path
from typing import Any

import pytest

from bot import cli_agent
from bot.settings import Settings, offline_runtime
from bot.wiring import open_runtime
from channels.local import reply_to_json
from knowledge.chunking import split_sentences

offline_runtime()
pytestmark = pytest.mark.timeout(600)
QUESTION = "How many PTO days do I get per year?"


async def test_more_prints_the_last_answers_whole_section(
    tmp_path: Path,
    sample_index: Path,
    embedder: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = Settings(data_dir=tmp_path / "data", index_dir=sample_index)
    monkeypatch.setattr(cli_agent, "_runtime", lambda s, **_: open_runtime(s, embedder=embedder))
    typed = iter(["/more", QUESTION, "/more", "/quit"])
    monkeypatch.setattr(builtins, "input", lambda _prompt="": next(typed))
    args = argparse.Namespace(conversation="more-test", user=None)
    assert await cli_agent._chat(args, settings) == 0
    out = capsys.readouterr().out
    before, _, after = out.partition(cli_agent.MORE_HINT)
    assert cli_agent.NO_MORE in before  # /more before any answer
    assert after, "the PTO answer is shortened and says so"

    async with open_runtime(settings, embedder=embedder) as rt:
        reply = await rt.agent.handle(cli_agent._message(QUESTION, None, "json-test"))
        data = reply_to_json(reply)
        assert data["full_section"] == reply.section and reply.section
        json.dumps(data)
        chunk_id = int(reply.section.rpartition(":")[2])
        chunks = rt.deps.knowledge.retriever.chunks  # type: ignore[attr-defined]
        top = next(c for c in chunks if c.id == chunk_id)
        same = [c for c in chunks if c.source == top.source and c.heading == top.heading]
    sentences = [s for c in same for line in c.text.split("\n") for s in split_sentences(line.strip())]
    assert sentences and all(s in after for s in sentences)
