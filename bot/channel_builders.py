"""Slack and Teams channels built from settings, the same way for `deskhand serve` (with the durable inbox
and HTTP routes) and `deskhand worker` (output halves only). The SDK imports stay lazy."""

from __future__ import annotations

from typing import Any

from bot.settings import Settings


def slack_from_settings(settings: Settings, handler: Any, coordinator: Any, inbox: Any = None) -> Any:
    from channels.slack import build_slack_channel

    assert settings.slack.bot_token is not None and settings.slack.signing_secret is not None
    return build_slack_channel(
        handler,
        bot_token=settings.slack.bot_token.get_secret_value(),
        signing_secret=settings.slack.signing_secret.get_secret_value(),
        api_url=settings.slack.api_url,
        coordinator=coordinator,
        inbox=inbox,
    )


def teams_from_settings(settings: Settings, handler: Any, coordinator: Any, inbox: Any = None) -> Any:
    """Raises channels.teams.TeamsConfigError for an unusable Teams configuration."""
    from channels.teams import build_teams_channel

    password = settings.teams.app_password
    return build_teams_channel(
        handler,
        app_id=settings.teams.app_id,
        app_password=password.get_secret_value() if password else None,
        tenant_id=settings.teams.app_tenant_id,
        app_type=settings.teams.app_type,
        insecure_no_auth=settings.teams.insecure_no_auth,
        coordinator=coordinator,
        inbox=inbox,
    )
