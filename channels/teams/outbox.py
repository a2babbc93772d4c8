"""The Teams outbox: decisions made elsewhere and expiries reach Teams as proactive messages and card updates."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import ChannelAccount, ConversationAccount, ConversationReference

from channels.base import ApprovalView, MessageRef, Reply, TeamPost
from channels.teams import render
from channels.teams.activities import CHANNEL
from channels.teams.courier import Courier
from channels.teams.memory import TeamsMemory

TEAMS_CHANNEL_ID = "msteams"
DEEP_LINK = "https://teams.microsoft.com/l/message/{channel}/{message}?{query}"


class TeamsOutbox:
    """`channels.base.ChannelOutbox` for Teams."""

    name = CHANNEL

    def __init__(
        self, adapter: CloudAdapter, courier: Courier, *, app_id: str | None, memory: TeamsMemory | None = None
    ) -> None:
        self._adapter = adapter
        self._courier = courier
        self._app_id = app_id
        self._memory = memory

    async def offer_approval(self, view: ApprovalView, origin: str) -> None:
        """Post the approval card in the personal chat of each approver who has talked to the bot in
        Teams (the bot can only start a chat with a user whose conversation it knows)."""
        if self._memory is None:
            return
        for email in view.approvers:
            reference = await self._memory.personal_chat(email)
            if reference:
                await self.notify(reference, Reply(text=view.title, route="approval", approval=view))

    async def refresh_approval(self, ref: MessageRef, view: ApprovalView) -> None:
        """Replace the card at `ref` with the current view (for everyone in that conversation)."""
        service_url = str(ref.data["service_url"])
        conversation_id = str(ref.data["conversation_id"])
        activity_id = str(ref.data["activity_id"])
        reference = ConversationReference(
            channel_id=TEAMS_CHANNEL_ID,
            service_url=service_url,
            conversation=ConversationAccount(id=conversation_id),
            bot=ChannelAccount(id=self._app_id or "deskhand"),
        )

        async def update(ctx: TurnContext) -> None:
            await self._courier.update_approval(ctx, activity_id, view)

        await self._adapter.continue_conversation(reference, update, bot_app_id=self._app_id)  # type: ignore[arg-type]

    async def notify(self, conversation_ref: dict[str, Any], reply: Reply) -> None:
        """Tell the user of an earlier turn (`InboundMessage.conversation_ref`) about `reply`, with the
        same privacy rule as within a turn."""
        reference = ConversationReference().deserialize(conversation_ref)

        async def send(ctx: TurnContext) -> None:
            await self._courier.deliver(ctx, reply)

        await self._adapter.continue_conversation(reference, send, bot_app_id=self._app_id)  # type: ignore[arg-type]

    async def post_to_team(self, destination: dict[str, Any], reply: Reply, origin_ref: dict[str, Any]) -> TeamPost:
        """A hand-off: a new post in the team's channel; its replies form the thread Deskhand relays from."""
        origin_conversation = origin_ref.get("conversation") or {}
        service_url = str(destination.get("service_url") or origin_ref.get("serviceUrl") or "")
        if not service_url:
            raise ValueError("no Bot Connector URL for the team's Teams channel")
        channel_id = str(destination["conversation_id"])
        tenant = destination.get("tenant_id") or origin_conversation.get("tenantId")
        reference = ConversationReference(
            channel_id=TEAMS_CHANNEL_ID,
            service_url=service_url,
            conversation=ConversationAccount(
                id=channel_id, is_group=True, conversation_type="channel", tenant_id=tenant
            ),
            bot=ChannelAccount(id=self._app_id or "deskhand"),
        )
        posted: list[str] = []

        async def send(ctx: TurnContext) -> None:
            # The continuation event carries a made-up id that botbuilder would reply to; without it the
            # message is sent to the channel itself, which starts a new post (thread) there.
            ctx.activity.id = None
            response = await self._courier.send(ctx, render.answer_message(reply))
            if response is not None and response.id:
                posted.append(str(response.id))

        await self._adapter.continue_conversation(reference, send, bot_app_id=self._app_id)  # type: ignore[arg-type]
        if not posted:  # the adapter's error handler swallows failures inside the callback
            raise RuntimeError("Teams did not confirm the hand-off post")
        return TeamPost(f"{CHANNEL}:{channel_id};messageid={posted[0]}")

    async def link_to(self, conversation_ref: dict[str, Any]) -> str | None:
        """A deep link to a channel reply chain; None for personal and group chats (private)."""
        conversation = conversation_ref.get("conversation") or {}
        channel, _, message = str(conversation.get("id") or "").partition(";messageid=")
        if not channel.startswith("19:") or not message:
            return None
        query = {"parentMessageId": message}
        if conversation.get("tenantId"):
            query["tenantId"] = str(conversation["tenantId"])
        return DEEP_LINK.format(
            channel=quote(channel, safe=""), message=quote(message, safe=""), query=urlencode(query)
        )
