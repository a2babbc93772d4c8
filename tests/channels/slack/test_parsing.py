"""Slack payload parsing: which messages are ours, conversation keys, clean text, dedup keys."""

from __future__ import annotations

from channels.slack.events import clean_text, dedup_key, parse_click, parse_message
from tests.channels.slack.support import click, direct, event_callback, mention, thread_reply

BOT = "U_DESKHAND"


def test_mention_in_a_thread_keys_on_the_thread_root() -> None:
    msg = parse_message(event_callback(mention("U_BOB", "hi", ts="2.0", thread_ts="1.0")), BOT)
    assert msg is not None and msg.conversation_key == "slack:T_LARKSPUR:C_GENERAL:1.0" and msg.shared


def test_top_level_mention_starts_its_own_thread() -> None:
    msg = parse_message(event_callback(mention("U_BOB", "hi", ts="3.0")), BOT)
    assert msg is not None and msg.thread_ts == "3.0" and not msg.in_thread


def test_dm_is_direct_and_not_shared() -> None:
    msg = parse_message(event_callback(direct("U_BOB", "hi")), BOT)
    assert msg is not None and msg.direct and not msg.shared


def test_ignored_messages() -> None:
    ignored = [
        {**direct("U_BOB", "x"), "subtype": "message_changed"},
        {**direct("U_BOB", "x"), "subtype": "message_deleted"},
        {**direct("U_BOB", "x"), "subtype": "bot_message", "bot_id": "B1"},
        {**direct(BOT, "x")},
        {"type": "message", "channel_type": "channel", "user": "U_BOB", "text": "x", "channel": "C1", "ts": "1.0"},
        thread_reply("U_BOB", f"<@{BOT}> again", "1.0"),
    ]
    assert [parse_message(event_callback(e), BOT) for e in ignored] == [None] * len(ignored)


def test_thread_broadcast_still_counts() -> None:
    event = {**thread_reply("U_BOB", "also", "1.0"), "subtype": "thread_broadcast"}
    assert parse_message(event_callback(event), BOT) is not None


def test_clean_text() -> None:
    raw = f"<@{BOT}> add <@U_TOM|tom> to <#C123|vpn> &amp; mail <mailto:a@example.com|a@example.com> <https://x.example.com|x>"
    assert clean_text(raw, BOT, {"U_TOM": "tom.becker@example.com"}) == (
        "add tom.becker@example.com to #vpn & mail a@example.com https://x.example.com"
    )


def test_dedup_keys() -> None:
    assert dedup_key(event_callback(direct("U_BOB", "x"), event_id="Ev1")) == "slack:event:Ev1"
    payload = click("U_CAROL", "deskhand_approve", "apr-1", channel="C1", message_ts="5.0")
    parsed = parse_click(payload)
    assert parsed is not None and parsed.value == "apr-1"
    assert dedup_key(payload) == f"slack:action:{parsed.action_ts}:U_CAROL:deskhand_approve"
    assert dedup_key({"type": "url_verification", "challenge": "c"}) is None
