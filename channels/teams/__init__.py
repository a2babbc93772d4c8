"""Microsoft Teams channel: the Bot Framework endpoint, Adaptive Card rendering, exactly-once handling.

botbuilder is imported only under `channels/teams`; the rest of Deskhand sees `build_teams_channel`,
`TeamsChannel.attach` and `TeamsChannel.outbox`.
"""

from channels.teams.channel import BotFrameworkConfig, TeamsChannel, TeamsConfigError, build_teams_channel
from channels.teams.outbox import TeamsOutbox

__all__ = ["BotFrameworkConfig", "TeamsChannel", "TeamsConfigError", "TeamsOutbox", "build_teams_channel"]
