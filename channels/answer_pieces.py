"""How an answer is cut into the pieces a channel shows while it streams: sentence-sized chunks.

Part of the channel port (like `channels.context`), because both sides use it: the agent emits an answer
piece by piece (`graphs.answer_stream`) and the channels pace what they show (`channels.core.stream`).
`split_sentences(text)` cuts after each sentence end (., ! or ? — with any `[n]` citation markers that
follow it — then white space, or a line break); joining the pieces gives the text back unchanged.
"""

from __future__ import annotations

import re

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
