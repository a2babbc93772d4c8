"""bench/chaos_report.py judges a thread the way users see it: an answer is a finished reply, and every
"Thinking…" post or begun stream is a placeholder (so a recovered turn that posts a second one is caught)."""

from __future__ import annotations

from bench.chaos_report import _placeholders, answered_in
from channels.core import wording
from tests.channels.slack.support import GENERAL
from tests.emulators.slack_api import ApiCall, SlackApiEmulator


def _post(slack: SlackApiEmulator, method: str, ts: str, thread: str, text: str, **extra: object) -> None:
    params = {"channel": GENERAL, "thread_ts": thread, "text": text}
    slack.calls.append(ApiCall(method, params, {}, 200, True))
    slack.messages[(GENERAL, ts)] = {"ts": ts, "thread_ts": thread, "text": text, **extra}


def test_a_begun_stream_is_a_placeholder_and_not_an_answer() -> None:
    slack = SlackApiEmulator()
    _post(slack, "chat.startStream", "2.0", "1.0", "", streaming=True)
    assert not answered_in(slack, "1.0") and _placeholders(slack, "1.0") == 1
    slack.messages[(GENERAL, "2.0")].update(streaming=False, text="Payment runs are on Tuesdays [1].")
    assert answered_in(slack, "1.0")


def test_two_thinking_posts_in_one_thread_are_counted() -> None:
    slack = SlackApiEmulator()
    _post(slack, "chat.postMessage", "2.0", "1.0", wording.THINKING)
    assert not answered_in(slack, "1.0")
    _post(slack, "chat.postMessage", "3.0", "1.0", wording.THINKING)
    assert _placeholders(slack, "1.0") == 2
