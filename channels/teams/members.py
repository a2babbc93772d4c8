"""Who sent a Teams activity: the member's profile (e-mail or UPN) resolved to their directory e-mail,
remembered per member so that a conversation asks Teams once."""

from __future__ import annotations

import logging

from botbuilder.core import TurnContext
from botbuilder.core.teams import TeamsInfo

from channels.base import TurnHandler
from channels.teams.memory import TeamsMemory

log = logging.getLogger(__name__)


async def identify_member(ctx: TurnContext, memory: TeamsMemory, handler: TurnHandler) -> str | None:
    """The sender's directory e-mail: Teams member profile (e-mail or UPN) -> `handler.identify`."""
    who = ctx.activity.from_property
    if who is None or not who.id:
        return None
    cached = await memory.member_email(who.id)
    if cached is not None:
        return cached or None
    if not isinstance(ctx.activity.channel_data, dict):
        ctx.activity.channel_data = {}  # TeamsInfo reads the team id from it
    try:
        member = await TeamsInfo.get_member(ctx, who.id)
    except Exception:
        log.warning("could not read the Teams profile of %s", who.id, exc_info=True)
        return None
    address = member.email or member.user_principal_name
    try:
        email = await handler.identify(address) if address else None
    except Exception:
        log.warning("could not resolve the directory identity of %s", who.id, exc_info=True)
        return None
    await memory.remember_member(who.id, email, member.aad_object_id or who.aad_object_id)
    return email
