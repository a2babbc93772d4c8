"""Slack payloads → typed values: which events are ours, conversation keys, clean text, dedup keys."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

from channels.slack.reasons import submission_key

# Message subtypes that are still a person talking to us; edits, deletions, joins, bot posts are not.
_USER_SUBTYPES = frozenset({None, "thread_broadcast", "file_share"})

_USER_MENTION = re.compile(r"<@([UW][A-Z0-9_]+)(?:\|[^>]*)?>")
_MAILTO = re.compile(r"<mailto:([^|>]+)(?:\|[^>]*)?>")
_LINK = re.compile(r"<(https?://[^|>]+)(?:\|([^>]*))?>")
_CHANNEL = re.compile(r"<#([CG][A-Z0-9]+)(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<!(here|channel|everyone)(?:\|[^>]*)?>")


def conversation_key(team: str, channel: str, thread_ts: str) -> str:
    """The agent's thread id for a Slack thread: `slack:{team}:{channel}:{thread_ts}`."""
    return f"slack:{team}:{channel}:{thread_ts}"


def thread_marker(team: str, channel: str, thread_ts: str) -> str:
    """Coordinator key recording that the bot takes part in a thread."""
    return f"slack:thread:{team}:{channel}:{thread_ts}"


def is_direct(channel: str, channel_type: str | None) -> bool:
    """A one-to-one DM (not a group DM or a channel)."""
    if channel_type:
        return channel_type == "im"
    return channel.startswith("D")


@dataclass(frozen=True)
class SlackMessage:
    """A message event addressed to the bot (or possibly so: thread replies still need a membership check)."""

    team: str
    channel: str
    user: str
    text: str  # raw Slack text
    ts: str
    thread_ts: str  # the thread root: the message's own ts when it starts a thread
    event_id: str
    direct: bool
    mention: bool  # an app_mention event
    in_thread: bool  # a reply inside an existing thread
    parent_user_id: str | None = None

    @property
    def conversation_key(self) -> str:
        return conversation_key(self.team, self.channel, self.thread_ts)

    @property
    def shared(self) -> bool:
        return not self.direct

    def conversation_ref(self) -> dict[str, Any]:
        return {
            "team": self.team,
            "channel": self.channel,
            "thread_ts": self.thread_ts,
            "user": self.user,
            "shared": self.shared,
        }


def mentions_user(text: str, user_id: str | None) -> bool:
    return bool(user_id) and any(m.group(1) == user_id for m in _USER_MENTION.finditer(text))


def mentioned_users(text: str) -> list[str]:
    return list(dict.fromkeys(m.group(1) for m in _USER_MENTION.finditer(text)))


def clean_text(text: str, bot_user_id: str | None, emails: dict[str, str] | None = None) -> str:
    """Slack markup → plain text: drop the bot's mention, other mentions → e-mail when known,
    links and e-mails unwrapped, entities decoded, whitespace collapsed."""
    known = emails or {}

    def user(m: re.Match[str]) -> str:
        uid = m.group(1)
        if uid == bot_user_id:
            return " "
        return known.get(uid) or f"@{uid}"

    out = _USER_MENTION.sub(user, text)
    out = _MAILTO.sub(r"\1", out)
    out = _LINK.sub(lambda m: m.group(1), out)
    out = _CHANNEL.sub(lambda m: f"#{m.group(2) or m.group(1)}", out)
    out = _SPECIAL.sub(lambda m: f"@{m.group(1)}", out)
    out = html.unescape(out)
    return re.sub(r"[ \t]+", " ", out).strip()


def parse_message(body: dict[str, Any], bot_user_id: str | None) -> SlackMessage | None:
    """The message in an `app_mention` or `message` event callback, or None when it is not for us
    (the bot's own posts, edits and other subtypes, plain channel chatter, mentions handled as app_mention)."""
    event = body.get("event")
    if not isinstance(event, dict):
        return None
    kind = event.get("type")
    if kind not in ("app_mention", "message"):
        return None
    if event.get("subtype") not in _USER_SUBTYPES or event.get("bot_id") or event.get("bot_profile"):
        return None
    user, channel, ts = event.get("user"), event.get("channel"), event.get("ts")
    if not (isinstance(user, str) and isinstance(channel, str) and isinstance(ts, str)):
        return None
    if bot_user_id and user == bot_user_id:
        return None
    text = str(event.get("text") or "")
    direct = is_direct(channel, event.get("channel_type"))
    thread_ts = str(event.get("thread_ts") or ts)
    in_thread = thread_ts != ts
    # In channels only thread replies count; messages mentioning the bot arrive again as app_mention.
    if kind == "message" and not direct and (not in_thread or mentions_user(text, bot_user_id)):
        return None
    team = str(body.get("team_id") or event.get("team") or "")
    parent = event.get("parent_user_id")
    return SlackMessage(
        team=team,
        channel=channel,
        user=user,
        text=text,
        ts=ts,
        thread_ts=thread_ts,
        event_id=str(body.get("event_id") or ""),
        direct=direct,
        mention=kind == "app_mention",
        in_thread=in_thread,
        parent_user_id=parent if isinstance(parent, str) else None,
    )


@dataclass(frozen=True)
class Click:
    """One button click from a `block_actions` payload."""

    user: str
    channel: str
    message_ts: str
    thread_ts: str | None
    action_id: str
    value: str
    action_ts: str
    trigger_id: str = ""  # lets the click open a modal (views.open) within 3 s
    team: str = ""
    home: bool = False  # clicked in the App Home tab: no channel or message (`message_ts` is the view id)
    ephemeral: bool = False  # on a private copy (`/deskhand approvals`): `chat.update` can't redraw it
    response_url: str = ""  # redraws the clicked message (ephemeral too) for 30 minutes, 5 times
    block_id: str = ""  # the clicked button's block (a private list's names the list)


def _part(body: dict[str, Any], name: str) -> dict[str, Any]:
    """A nested object of a payload, or {} when it is missing or not an object (signed is not well-formed)."""
    value = body.get(name)
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def parse_click(body: dict[str, Any]) -> Click | None:
    acts = body.get("actions")
    if body.get("type") != "block_actions" or not isinstance(acts, list) or not acts:
        return None
    action = acts[0] if isinstance(acts[0], dict) else {}
    container = _part(body, "container")
    message = _part(body, "message")
    user = _text(_part(body, "user").get("id"))
    home = container.get("type") == "view" and _part(body, "view").get("type") == "home"
    channel = _text(_part(body, "channel").get("id")) or _text(container.get("channel_id"))
    message_ts = _text(message.get("ts")) or _text(container.get("message_ts"))
    if home:
        channel, message_ts = "", _text(_part(body, "view").get("id")) or _text(container.get("view_id"))
    action_id = _text(action.get("action_id"))
    if not (user and (channel or home) and message_ts and action_id):
        return None
    return Click(
        user=user,
        channel=channel or "",
        message_ts=message_ts,
        thread_ts=_text(message.get("thread_ts")),
        action_id=action_id,
        value=str(action.get("value") or ""),
        action_ts=str(action.get("action_ts") or ""),
        trigger_id=_text(body.get("trigger_id")) or "",
        team=_text(_part(body, "team").get("id")) or "",
        home=home,
        ephemeral=container.get("is_ephemeral") is True,
        response_url=_text(body.get("response_url")) or "",
        block_id=_text(action.get("block_id")) or "",
    )


def event_key(event_id: str) -> str:
    return f"slack:event:{event_id}"


def click_key(click: Click) -> str:
    return f"slack:action:{click.action_ts}:{click.user}:{click.action_id}"


def dedup_key(body: dict[str, Any]) -> str | None:
    """What identifies one delivery, so a retry or duplicate is recognised: the event id for events,
    the click (time, user, action) for interactivity. None for payloads we do not deduplicate."""
    if body.get("type") == "event_callback" and body.get("event_id"):
        return event_key(str(body["event_id"]))
    if body.get("type") == "block_actions":
        click = parse_click(body)
        if click is not None:
            return click_key(click)
    if body.get("type") == "view_submission":
        return submission_key(body)  # the reason form's own key
    return None


@dataclass(frozen=True)
class AssistantThread:
    """An `assistant_thread_started` event: a user opened Deskhand in Slack's AI-app container."""

    team: str
    channel: str  # the DM channel the assistant thread lives in
    thread_ts: str
    user: str
    event_id: str


def parse_assistant_thread(body: dict[str, Any]) -> AssistantThread | None:
    """The thread an `assistant_thread_started` callback names, or None when it is not one (or malformed)."""
    event = _part(body, "event")
    if event.get("type") != "assistant_thread_started":
        return None
    thread = _part(event, "assistant_thread")
    channel, thread_ts, user = (
        _text(thread.get("channel_id")),
        _text(thread.get("thread_ts")),
        _text(thread.get("user_id")),
    )
    if not (channel and thread_ts and user):
        return None
    team = str(body.get("team_id") or _part(thread, "context").get("team_id") or "")
    return AssistantThread(team, channel, thread_ts, user, str(body.get("event_id") or ""))


def assistant_marker(channel: str, thread_ts: str) -> str:
    """Coordinator key recording that a DM thread is an AI-app (assistant) thread."""
    return f"slack:assistant:{channel}:{thread_ts}"


def parse_home_opened(body: dict[str, Any]) -> tuple[str, str] | None:
    """(user, event id) of an `app_home_opened` event on the Home tab, else None (the Messages tab too)."""
    event = _part(body, "event")
    user = _text(event.get("user"))
    if event.get("type") != "app_home_opened" or event.get("tab") not in (None, "home") or not user:
        return None
    return user, str(body.get("event_id") or "")
