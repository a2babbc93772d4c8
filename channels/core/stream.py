"""The answer stream both channels show while an answer is shown piece by piece: sentence-sized chunks.

`split_sentences` (channels.answer_pieces) cuts an answer into sentences; `sentence_stream(text)` yields
them one by one. An extractive (offline) answer is complete at once, so its stream yields as fast as the
channel can take it; the channel's own pacing (Teams: ~1 request/s) decides how many sentences each
update carries.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from channels.answer_pieces import split_sentences


async def sentence_stream(text: str) -> AsyncIterator[str]:
    """The answer's sentences as an async stream (the shape a generating model's stream has too)."""
    for piece in split_sentences(text):
        yield piece
