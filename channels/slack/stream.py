"""Streamed answers with Slack's chat.startStream / chat.appendStream / chat.stopStream.

The stream is opened when a turn begins (it is the turn's placeholder, so a recovered turn finishes the
same message); the answer is appended first sentence first, and the sources and feedback buttons come with
the stop. Where streaming is unavailable (an older workspace or token: `unknown_method`, `not_allowed`…)
the channel posts "Thinking…" and replaces it with `chat.update`, as it did before, and stops asking for a
while. Text produced while the turn runs is appended as it comes (`append`, fed by `channels.slack.live`)."""

from __future__ import annotations

import logging
import time
from typing import Any

from channels.answer_pieces import split_sentences
from channels.slack.render import Block
from channels.slack.webapi import SlackApi, WebApiError

log = logging.getLogger(__name__)

# Slack's answers meaning "streaming is not available to this app/workspace": fall back, and remember it.
UNAVAILABLE = frozenset(
    {
        "unknown_method",
        "method_deprecated",
        "not_allowed",
        "not_allowed_token_type",
        "missing_scope",
        "feature_not_enabled",
        "team_not_allowed",
    }
)


MARKDOWN_LIMIT = 12_000


class StreamClosed(Exception):
    """The stream can no longer take text (stopped, timed out or gone): update the message instead."""


class SlackStreams:
    """Opens, feeds and stops streamed messages; remembers for `retry_after_s` that streaming is off."""

    def __init__(self, api: SlackApi, *, retry_after_s: float = 600.0, enabled: bool = True) -> None:
        self._api = api
        self._retry_after = retry_after_s
        self._off_until = 0.0 if enabled else float("inf")

    @property
    def available(self) -> bool:
        return time.monotonic() >= self._off_until

    async def start(self, channel: str, thread_ts: str, user: str, team: str) -> str | None:
        """Open a streamed reply in the thread; its ts, or None when streaming is unavailable (or failed:
        the caller posts a plain placeholder instead)."""
        if not self.available:
            return None
        kwargs: dict[str, Any] = {"channel": channel, "thread_ts": thread_ts}
        if not channel.startswith("D"):  # outside a DM Slack needs to know whom the stream is for
            kwargs |= {"recipient_user_id": user, "recipient_team_id": team}
        try:
            data = await self._api.call("chat.startStream", self._api.client.chat_startStream, **kwargs)
        except WebApiError as exc:
            if exc.reason in UNAVAILABLE:
                log.info("Slack streaming unavailable (%s): using chat.update", exc.reason)
                self._off_until = time.monotonic() + self._retry_after
            else:
                log.warning("chat.startStream failed (%s): using a placeholder", exc)
            return None
        ts = data.get("ts")
        return str(ts) if ts else None

    async def append(self, channel: str, ts: str, markdown: str) -> None:
        """Append `markdown` to the open stream (in pieces Slack takes). `StreamClosed` when it no longer
        takes text."""
        try:
            await self._append(channel, ts, markdown)
        except WebApiError as exc:
            raise _closed(exc) from exc

    async def finish(self, channel: str, ts: str, markdown: str, blocks: list[Block], *, shown: str = "") -> None:
        """Show the rest of `markdown` and stop the stream with `blocks` underneath. `shown` is the start of
        `markdown` already appended while the answer was produced; with none, the first sentence goes on
        its own (so the first words show at once). `StreamClosed` when the stream no longer takes text."""
        first, rest = "", markdown[len(shown) :]
        if not shown:
            first, *pieces = split_sentences(markdown) or [markdown]
            rest = "".join(pieces)
        tail = rest if len(rest) <= MARKDOWN_LIMIT else ""
        try:
            await self._append(channel, ts, first)
            if not tail:
                await self._append(channel, ts, rest)
            stop: dict[str, Any] = {"channel": channel, "ts": ts}
            if tail:
                stop["markdown_text"] = tail
            if blocks:
                stop["blocks"] = blocks
            await self._api.call("chat.stopStream", self._api.client.chat_stopStream, **stop)
        except WebApiError as exc:
            raise _closed(exc) from exc

    async def _append(self, channel: str, ts: str, markdown: str) -> None:
        for start in range(0, len(markdown), MARKDOWN_LIMIT):  # Slack takes at most 12,000 characters a call
            await self._api.call(
                "chat.appendStream",
                self._api.client.chat_appendStream,
                channel=channel,
                ts=ts,
                markdown_text=markdown[start : start + MARKDOWN_LIMIT],
            )

    async def stop_quietly(self, channel: str, ts: str) -> None:
        """Stop a stream that may already be stopped (recovery, before the message is replaced whole)."""
        try:
            await self._api.call("chat.stopStream", self._api.client.chat_stopStream, channel=channel, ts=ts)
        except WebApiError as exc:
            log.info("stopping stream %s: %s", ts, exc.reason)


def _closed(exc: WebApiError) -> Exception:
    """`StreamClosed` for Slack's answers meaning the stream takes no more text; else the error itself."""
    if exc.reason in ("message_not_in_streaming_state", "message_not_found", *UNAVAILABLE):
        return StreamClosed(exc.reason)
    return exc
