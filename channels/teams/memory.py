"""What the Teams channel remembers between turns (in the coordinator): member identities, last approval views."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from channels.base import ApprovalView, Reply
from channels.coordination import Coordinator
from channels.core.present import view_from_data, view_to_data

MEMBER_TTL_S = 3600  # a directory change (new e-mail, deactivation) is picked up within the hour
AAD_TTL_S = 30 * 86400
VIEW_GRACE_S = 86400
ANSWER_TTL_S = 30 * 86400  # feedback on an answer older than a month is not recorded
STREAM_TTL_S = 7 * 86400  # longer than any recovery lease  # keep a closed card answerable for a day after it expired


class TeamsMemory:
    """Small key/value facts under the `teams:` prefix of the coordinator."""

    def __init__(self, coordinator: Coordinator) -> None:
        self._coordinator = coordinator

    async def member_email(self, user_id: str) -> str | None:
        """The canonical directory e-mail resolved earlier for a Teams user id ("" = known unknown)."""
        return await self._coordinator.recall(f"teams:member:{user_id}")

    async def remember_member(self, user_id: str, email: str | None, aad_object_id: str | None) -> None:
        await self._coordinator.remember(f"teams:member:{user_id}", email or "", MEMBER_TTL_S)
        if email and aad_object_id:
            await self._coordinator.remember(f"teams:aad:{email.lower()}", aad_object_id, AAD_TTL_S)

    async def aad_ids(self, emails: tuple[str, ...]) -> dict[str, str]:
        """E-mail -> AAD object id for those of `emails` seen in Teams before (card refresh, mentions)."""
        found = {}
        for email in emails:
            aad = await self._coordinator.recall(f"teams:aad:{email.lower()}")
            if aad:
                found[email] = aad
        return found

    async def remember_personal_chat(self, email: str, reference: dict[str, Any]) -> None:
        """Where to reach `email` privately (their personal chat with the bot)."""
        await self._coordinator.remember(f"teams:chat:{email.lower()}", json.dumps(reference), AAD_TTL_S)

    async def personal_chat(self, email: str) -> dict[str, Any] | None:
        raw = await self._coordinator.recall(f"teams:chat:{email.lower()}")
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return None

    async def remember_answer(self, activity_id: str | None, reply: Reply) -> None:
        """Which answer a posted message is, for Teams' feedback loop (its invoke names the message)."""
        if activity_id and reply.audit_id:
            data = {"audit_id": reply.audit_id, "sources": [ref.source for ref in reply.citations]}
            await self._coordinator.remember(f"teams:answer:{activity_id}", json.dumps(data), ANSWER_TTL_S)

    async def answer(self, activity_id: str) -> dict[str, Any] | None:
        """{"audit_id", "sources"} of the answer posted as `activity_id`, if known."""
        raw = await self._coordinator.recall(f"teams:answer:{activity_id}")
        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            return None
        return data if isinstance(data, dict) and data.get("audit_id") else None

    async def remember_turn_stream(self, key: str, stream_id: str) -> None:
        """The stream a turn began (before its answer was saved): a re-run after a crash finishes it."""
        await self._coordinator.remember(f"teams:turnstream:{key}", stream_id, STREAM_TTL_S)

    async def turn_stream(self, key: str) -> str | None:
        return await self._coordinator.recall(f"teams:turnstream:{key}")

    async def remember_stream_done(self, stream_id: str | None) -> None:
        """The stream's final message was posted (recovery must not post the answer again)."""
        if stream_id:
            await self._coordinator.remember(f"teams:stream:{stream_id}", "final", STREAM_TTL_S)

    async def stream_done(self, stream_id: str | None) -> bool:
        return bool(stream_id) and await self._coordinator.recall(f"teams:stream:{stream_id}") == "final"

    async def remember_view(self, view: ApprovalView) -> None:
        remaining = (view.expires_at - datetime.now(UTC)).total_seconds()
        ttl = max(int(remaining), 0) + VIEW_GRACE_S
        await self._coordinator.remember(f"teams:view:{view.approval_id}", json.dumps(view_to_data(view)), ttl)

    async def view(self, approval_id: str) -> ApprovalView | None:
        raw = await self._coordinator.recall(f"teams:view:{approval_id}")
        if not raw:
            return None
        try:
            return view_from_data(json.loads(raw))
        except (ValueError, KeyError, TypeError):
            return None
