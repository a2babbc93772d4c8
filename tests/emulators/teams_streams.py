"""The Bot Connector emulator's checks of what Teams documents for AI replies: streaming (`streaminfo`
entities), the feedback loop flag and AI citations. A violation is answered the way Teams answers it
(4xx with an error code), so a bot that breaks the protocol fails its tests."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

STREAM_TYPES = ("informative", "streaming", "final")
MAX_INFORMATIVE_CHARS = 1000
CITATION_TYPE = "https://schema.org/Message"


@dataclass
class Stream:
    """One streamed message as Teams tracks it."""

    id: str
    conversation_id: str
    sequence: int = 0
    text: str = ""
    final: bool = False
    closed: bool = False  # finished or timed out: nothing more is taken
    last_at: float = field(default_factory=time.monotonic)
    pieces: list[dict[str, Any]] = field(default_factory=list)  # every accepted activity, in order


class StreamError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


def stream_info(body: Any) -> dict[str, Any] | None:
    if not isinstance(body, dict):
        return None
    found = [e for e in body.get("entities") or [] if isinstance(e, dict) and e.get("type") == "streaminfo"]
    if len(found) > 1:
        raise StreamError(400, "BadArgument", "more than one streaminfo entity")
    return found[0] if found else None


class StreamBook:
    """The streams of every conversation; `check` validates a posted activity before it is accepted."""

    def __init__(self, min_interval_s: float = 0.0) -> None:
        self.min_interval_s = min_interval_s  # Teams throttles a stream to about one request a second
        self.streams: dict[str, Stream] = {}

    def open_in(self, conversation_id: str) -> Stream | None:
        return next((s for s in self.streams.values() if s.conversation_id == conversation_id and not s.closed), None)

    def expire(self, stream_id: str) -> None:
        """Teams gave up on the stream (two minutes without its final message): later posts are refused."""
        self.streams[stream_id].closed = True

    def check(self, conversation_id: str, body: Any) -> tuple[Stream | None, dict[str, Any] | None]:
        """Raise `StreamError` for what Teams refuses; returns the stream the activity belongs to (None for a
        new stream: `started` records it once the id is assigned)."""
        check_message(body)
        info = stream_info(body)
        if info is None:
            return None, None
        kind, sequence, stream_id = info.get("streamType"), info.get("streamSequence"), info.get("streamId")
        if kind not in STREAM_TYPES:
            raise StreamError(400, "BadArgument", f"unknown streamType {kind!r}")
        if not conversation_id.startswith("a:"):
            raise StreamError(403, "ContentStreamNotAllowed", "Content stream is not allowed")
        expected_type = "message" if kind == "final" else "typing"
        if body.get("type") != expected_type:
            raise StreamError(400, "BadArgument", f"a {kind} piece must be a {expected_type} activity")
        if kind == "final":
            if sequence is not None or not stream_id:
                raise StreamError(400, "BadArgument", "a final message names its streamId and has no sequence")
        elif not isinstance(sequence, int) or sequence < 1:
            raise StreamError(400, "BadArgument", "streamSequence must be a positive integer")
        text = str(body.get("text") or "")
        if kind == "informative" and len(text) > MAX_INFORMATIVE_CHARS:
            raise StreamError(400, "BadArgument", "informative updates are at most 1000 characters")
        if not stream_id:
            if sequence != 1:
                raise StreamError(400, "BadArgument", "the first piece of a stream has streamSequence 1")
            if self.open_in(conversation_id) is not None:
                raise StreamError(403, "ContentStreamNotAllowed", "only one stream at a time per chat")
            return None, info
        stream = self.streams.get(str(stream_id))
        if stream is None or stream.conversation_id != conversation_id:
            raise StreamError(404, "NotFound", "unknown streamId")
        if stream.closed:
            raise StreamError(
                403, "ContentStreamNotAllowed",
                "Content stream finished due to exceeded streaming time." if not stream.final
                else "Content stream is not allowed on an already completed streamed message",
            )  # fmt: skip
        if time.monotonic() - stream.last_at < self.min_interval_s:
            raise StreamError(429, "Throttled", "API calls quota exceeded")
        if isinstance(sequence, int):  # every piece but the final one, which has no sequence (checked above)
            if sequence <= stream.sequence:
                raise StreamError(400, "ContentStreamSequenceOrderPreConditionFailed", "streamSequence must grow")
            if kind == "streaming" and stream.text and not text.startswith(stream.text):
                raise StreamError(400, "BadArgument", "each chunk must contain the text streamed before")
        return stream, info

    def record(self, stream: Stream | None, info: dict[str, Any], body: dict[str, Any], new_id: str, conv: str) -> None:
        if stream is None:
            stream = self.streams[new_id] = Stream(new_id, conv)
        stream.pieces.append(body)
        stream.last_at = time.monotonic()
        if info["streamType"] == "final":
            stream.final = stream.closed = True
            stream.text = str(body.get("text") or "")
            return
        stream.sequence = int(info["streamSequence"])
        if info["streamType"] == "streaming":
            stream.text = str(body.get("text") or "")


def check_message(body: Any) -> None:
    """The feedback-loop flag and AI citations, as Teams documents them."""
    if not isinstance(body, dict):
        return
    channel_data = body.get("channelData")
    flag = channel_data.get("feedbackLoopEnabled") if isinstance(channel_data, dict) else None
    if flag is not None and (not isinstance(flag, bool) or body.get("type") != "message"):
        raise StreamError(400, "BadArgument", "feedbackLoopEnabled is a boolean on a message")
    for entity in body.get("entities") or []:
        if isinstance(entity, dict) and entity.get("type") == CITATION_TYPE:
            _check_citations(entity, str(body.get("text") or ""))


def _check_citations(entity: dict[str, Any], text: str) -> None:
    if entity.get("@type") != "Message" or entity.get("@context") != "https://schema.org":
        raise StreamError(400, "BadArgument", "an AI message entity is a schema.org Message")
    claims = entity.get("citation") or []
    positions = [c.get("position") for c in claims]
    if positions != list(range(1, len(claims) + 1)):
        raise StreamError(400, "BadArgument", "citation positions must be 1..n")
    for claim in claims:
        appearance = claim.get("appearance") or {}
        if claim.get("@type") != "Claim" or appearance.get("@type") != "DigitalDocument":
            raise StreamError(400, "BadArgument", "a citation is a Claim with a DigitalDocument appearance")
        if not appearance.get("name") or len(appearance["name"]) > 80:
            raise StreamError(400, "BadArgument", "a citation needs a name of at most 80 characters")
        if len(appearance.get("abstract") or "") > 160:
            raise StreamError(400, "BadArgument", "a citation abstract is at most 160 characters")
        url = appearance.get("url")
        if url is not None and not re.match(r"https?://", str(url)):
            raise StreamError(400, "BadArgument", "a citation url must be http(s)")
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", text)}
    if not markers <= set(range(1, len(claims) + 1)):
        raise StreamError(400, "BadArgument", "a [n] marker in the text has no citation")
