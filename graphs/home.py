"""One person's overview for a channel's home surface (Slack's App Home): the approvals they may decide now
(the same list as "what's waiting for me?") and their own recent requests. Read-only."""

from __future__ import annotations

import asyncio
from typing import Any

from channels.base import HomeView
from graphs.waiting import SHOWN, decidable_by

OWN_SHOWN = 10  # own requests listed, newest first


async def home_for(agent: Any, who: str) -> HomeView:
    """`agent` is `graphs.agent.Agent` (its stores and its `view`, which masks arguments)."""
    deps = agent.deps
    waiting = (await decidable_by(deps, who))[:SHOWN]
    own = await asyncio.to_thread(deps.approvals.by_requester, who, OWN_SHOWN)
    return HomeView(waiting=tuple(map(agent.view, waiting)), requests=tuple(map(agent.view, own)))
