"""The answer stream both channels show while an answer is shown piece by piece: sentence-sized chunks.

`split_sentences(text)` cuts an answer after each sentence end (., ! or ? — with any `[n]` citation markers
that follow it — then white space, or a line break); joining the pieces gives the text back unchanged.
`sentence_stream(text)` yields them one by one. An extractive (offline) answer is complete at once, so its
stream yields as fast as the channel can take it; the channel's own pacing (Teams: ~1 request/s) decides
how many sentences each update carries.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

# After a sentence end and its citation markers, or after a line break: the white space is kept with the
# sentence before it, so "".join(pieces) == text.
_BOUNDARY = re.compile(r"(?<=[.!?])((?:\s*\[\d+\])*)(\s+)|(\n+)")


def split_sentences(text: str) -> list[str]:
    """The text cut into sentences (each keeps its trailing white space); [] for an empty text."""
    pieces: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        end = match.end()
        if text[start:end].strip():
            pieces.append(text[start:end])
            start = end
    if text[start:]:
        if pieces and not text[start:].strip():
            pieces[-1] += text[start:]
        else:
            pieces.append(text[start:])
    return pieces


async def sentence_stream(text: str) -> AsyncIterator[str]:
    """The answer's sentences as an async stream (the shape a generating model's stream has too)."""
    for piece in split_sentences(text):
        yield piece
