"""The user-facing strings only Slack shows (the shared ones are in `channels.core.wording`)."""

from __future__ import annotations

TRUNCATED = "_(answer shortened to fit in Slack)_"
