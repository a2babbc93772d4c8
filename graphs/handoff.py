"""Hand-offs to a human team: persist the question, post it to the team's channel or open a ticket, relay
the team's answer back to the requester, and say only what actually happened."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from channels.base import InboundMessage, Reply, TeamDesk
from graphs import messages as msg
from graphs.contacts import Contacts, SlackDestination, TeamContact
from graphs.handoff_store import Handoff, HandoffStore
from tools.ticketing import Ticketing, TicketRequest

log = logging.getLogger(__name__)

PLATFORMS = {"slack": "Slack", "teams": "Microsoft Teams", "local": "the terminal"}
FALLBACK_CONTACT = "the service desk"

NameOf = Callable[[str], Awaitable[str | None]]


class TeamChannels(Protocol):
    """What the desk needs of the channels: a team desk per platform, and posting to a requester."""

    def desk(self, channel: str) -> TeamDesk | None: ...

    async def notify(self, channel: str, conversation_ref: dict[str, Any], reply: Reply) -> None: ...


@dataclass(frozen=True)
class HandoffOutcome:
    text: str
    audit_id: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Ask:
    handoff: Handoff
    team: TeamContact | None
    who: str
    link: str | None


def _reference() -> str:
    return secrets.token_hex(4).upper()


class HandoffDesk:
    """Opens hand-offs (from the graph's hand-off node) and relays answers (from the agent's turn entry)."""

    def __init__(
        self,
        store: HandoffStore,
        contacts: Contacts,
        channels: TeamChannels,
        *,
        ticketing: Ticketing | None = None,
        name_of: NameOf | None = None,
    ) -> None:
        self._store = store
        self._contacts = contacts
        self._channels = channels
        self._ticketing = ticketing
        self._name_of = name_of
        self._team_channels = contacts.team_threads()

    # -- opening -------------------------------------------------------------------------------
    async def open(
        self,
        *,
        team: str,
        question: str,
        requester: str | None,
        channel: str,
        conversation_ref: dict[str, Any],
        request_id: str,
    ) -> HandoffOutcome:
        """Persist first, then deliver; whatever happens the reply says what was done."""
        handoff = await asyncio.to_thread(
            self._store.create,
            request_id=request_id,
            team=team,
            requester=requester or "",
            question=question,
            channel=channel,
            conversation_ref=conversation_ref,
        )
        entry = self._contacts.team(team)
        contact = entry.contact if entry else FALLBACK_CONTACT
        fill = {"team": team, "contact": contact, "ref": handoff.id}
        desk = self._channels.desk(channel)
        destination = entry.destination_for(channel) if entry else None
        if entry is None or ((destination is None or desk is None) and entry.ticket is None):
            _, audit_id = await self._settle(handoff, "contact")
            return HandoffOutcome(msg.HANDOFF.format(**fill), audit_id, {"handoff_id": handoff.id, "delivered": "none"})
        link = await desk.link_to(conversation_ref) if desk is not None else None
        ask = _Ask(handoff, entry, await self._display(requester), link)
        try:
            if destination is not None and desk is not None:
                try:
                    return await self._post(ask, desk, destination, fill)
                except Exception:
                    if entry.ticket is None:
                        raise
                    log.warning("hand-off %s: posting to the team failed; opening a ticket", handoff.id, exc_info=True)
            return await self._open_ticket(ask, fill)
        except Exception:
            ref = _reference()
            log.exception("hand-off %s could not be delivered (reference %s)", handoff.id, ref)
            _, audit_id = await self._settle(handoff, "failed", detail={"error_ref": ref})
            return HandoffOutcome(
                msg.HANDOFF_FAILED.format(**fill), audit_id, {"handoff_id": handoff.id, "delivered": "failed"}
            )

    async def _post(self, ask: _Ask, desk: TeamDesk, destination: Any, fill: dict[str, str]) -> HandoffOutcome:
        h = ask.handoff
        text = msg.HANDOFF_TEAM_POST.format(
            ref=h.id,
            team=h.team,
            who=ask.who,
            platform=PLATFORMS.get(h.channel, h.channel),
            question=h.question,
            link=msg.HANDOFF_LINK.format(link=ask.link) if ask.link else "",
        )
        post = await desk.post_to_team(
            destination.model_dump(mode="json", exclude_none=True),
            Reply(text=text, route="handoff"),
            h.conversation_ref,
        )
        platform = "slack" if isinstance(destination, SlackDestination) else "teams"
        _, audit_id = await self._settle(h, "posted", destination=platform, team_thread=post.conversation_key)
        where = destination.name or f"the team's {PLATFORMS[platform]} channel"
        return HandoffOutcome(
            msg.HANDOFF_POSTED.format(where=where, **fill), audit_id, {"handoff_id": h.id, "delivered": platform}
        )

    async def _open_ticket(self, ask: _Ask, fill: dict[str, str]) -> HandoffOutcome:
        h = ask.handoff
        assert ask.team is not None and ask.team.ticket is not None
        if self._ticketing is None:
            raise RuntimeError("a ticket webhook is configured but no ticketing adapter was wired")
        request = TicketRequest(
            reference=h.id,
            team=h.team,
            requester=h.requester,
            requester_name=ask.who,
            question=h.question,
            channel=h.channel,
            link=ask.link,
        )
        ticket = await self._ticketing.open(str(ask.team.ticket.url), request)
        _, audit_id = await self._settle(h, "ticketed", destination="ticket", ticket_id=ticket.id, link=ticket.url)
        data = {"handoff_id": h.id, "delivered": "ticket", "ticket": ticket.id}
        return HandoffOutcome(msg.HANDOFF_TICKET.format(ticket=ticket.id, **fill), audit_id, data)

    async def _settle(self, handoff: Handoff, status: Any, **values: Any) -> tuple[Handoff, str]:
        return await asyncio.to_thread(self._store.settle, handoff.id, status, **values)

    async def _display(self, email: str | None, fallback: str | None = None) -> str:
        """ "Bob Martin (bob.martin@example.com)" when the directory knows the name."""
        if not email:
            return fallback or msg.UNIDENTIFIED_REQUESTER
        name = None
        if self._name_of is not None:
            try:
                name = await self._name_of(email)
            except Exception:  # a directory hiccup costs the name, not the hand-off
                log.warning("could not look up the name of a hand-off participant", exc_info=True)
        name = name or fallback
        return f"{name} ({email})" if name else email

    # -- relaying answers ----------------------------------------------------------------------
    async def relay(self, message: InboundMessage) -> Reply | None:
        """A message in a hand-off's team thread goes to the requester; None for any other message."""
        key = message.conversation_key
        if not any(channel in key for channel in self._team_channels):
            return None  # not under a team channel: no database look-up on ordinary turns
        handoff = await asyncio.to_thread(self._store.by_team_thread, key)
        if handoff is None:
            return None
        who = await self._display(message.user_email, message.user_name)
        requester = await self._display(handoff.requester)
        answer = Reply(
            text=msg.HANDOFF_ANSWER.format(who=who, team=handoff.team, ref=handoff.id, text=message.text),
            route="handoff",
            data={"handoff_id": handoff.id},
        )
        ref = ""
        try:
            await self._channels.notify(handoff.channel, handoff.conversation_ref, answer)
            relayed = True
        except Exception:
            relayed = False
            ref = _reference()
            log.exception("relaying an answer to hand-off %s failed (reference %s)", handoff.id, ref)
        await asyncio.to_thread(self._store.record_reply, handoff.id, message.user_email or "", relayed)
        if relayed:
            return Reply(text=msg.HANDOFF_RELAYED.format(requester=requester), route="handoff")
        return Reply(
            text=msg.HANDOFF_RELAY_FAILED.format(requester=requester, ref=ref), route="error", reference_id=ref
        )
