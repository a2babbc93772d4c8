"""Slack channel: Events API + interactivity over Bolt, rendering with Block Kit, exactly-once handling."""

from channels.slack.channel import EVENTS_PATH, SlackChannel, build_slack_channel
from channels.slack.outbox import SlackOutbox

__all__ = ["EVENTS_PATH", "SlackChannel", "SlackOutbox", "build_slack_channel"]
