"""A private approval list and Slack's limits on its response_url (5 posts, 30 minutes), on the emulator and
the test Redis: the list is redrawn while the URL lasts and never posted to beyond it."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from channels.base import ApprovalView, Decision, MessageRef
from channels.coordination import Coordinator
from channels.slack.private_lists import RESPONSE_URL_S, PrivateLists, list_of
from channels.slack.render import Rendered, render_approval, render_text
from tests.emulators.slack_api import SlackApiEmulator

VIEW = ApprovalView(
    approval_id="apr_1",
    title="Put invoice INV-10077 on payment hold",
    requester="alice.nguyen@example.com",
    reason="Payment holds need an AP lead.",
    rule="ap.hold_payment",
    mode="approve",
    approvers=("carol.diaz@example.com", "dan.okafor@example.com"),
    required=1,
    expires_at=datetime.now(UTC) + timedelta(days=1),
    status="pending",
)


def _ids(message: dict[str, Any]) -> list[str]:
    return [b["block_id"] for b in message["blocks"] if "block_id" in b]


async def test_a_list_is_redrawn_at_most_four_times_and_not_after_30_minutes(
    emulator: SlackApiEmulator, coordinator: Coordinator
) -> None:
    refs: list[tuple[str, MessageRef]] = []

    async def remember(approval_id: str, ref: MessageRef) -> None:
        refs.append((approval_id, ref))

    now = [1_000_000.0]
    lists = PrivateLists(coordinator, remember, clock=lambda: now[0])
    url_id = uuid.uuid4().hex[:8]
    url = f"http://127.0.0.1:{emulator.port}/response/{url_id}"
    other = replace(VIEW, approval_id="apr_2", title="Put invoice INV-10042 on payment hold")
    cards = [(v, render_approval(v, {})) for v in (VIEW, other)]
    await lists.post(url, "U_CAROL", render_text("2 approvals wait for your decision."), cards)
    [shown] = emulator.private.shown[url_id]
    assert len(set(_ids(shown))) == 2, "one button row per approval, ids unique in the message"
    assert [(a, r.data["until"]) for a, r in refs] == [("apr_1", 1_000_000 + RESPONSE_URL_S), ("apr_2", 1_001_800)]

    until = float(refs[0][1].data["until"])
    for n in range(6):  # one post is spent on the list: 4 redraws remain
        decided = replace(
            VIEW, status="rejected", decisions=(Decision("dan.okafor@example.com", False, datetime.now(UTC)),)
        )
        redrawn = await lists.redraw(url, until, decided, render_approval(decided, {}))
        assert redrawn is (n < 4)
    assert emulator.private.url_uses[url_id] == 5 and len(emulator.private.shown[url_id]) == 1
    assert len(_ids(emulator.private.shown[url_id][0])) == 1, "the decided card has no buttons; the other has"

    fresh = f"http://127.0.0.1:{emulator.port}/response/{uuid.uuid4().hex[:8]}"
    await lists.post(fresh, "U_DAN", Rendered("1 approval waits.", []), cards[:1])
    now[0] += RESPONSE_URL_S  # 30 minutes later: not even tried
    assert await lists.redraw(fresh, now[0], VIEW, render_approval(VIEW, {})) is False
    assert emulator.private.url_uses[fresh.rsplit("/", 1)[1]] == 1

    # A click on the first list, through the click's own response_url: the whole list, that card redrawn.
    [row] = [b["block_id"] for b in emulator.private.shown[url_id][0]["blocks"] if "block_id" in b]
    in_list = list_of(row)
    assert in_list is not None and row.split(":")[1] == "apr_2"
    click_url = f"http://127.0.0.1:{emulator.port}/response/click-1"
    closed = replace(other, status="expired")
    assert await lists.redraw_clicked(in_list, click_url, closed, render_approval(closed, {})) is True
    [redrawn] = emulator.private.shown["click-1"]
    assert redrawn["replace_original"] is True and _ids(redrawn) == [] and "INV-10077" in str(redrawn["blocks"])
    assert await lists.redraw_clicked("unknown", click_url, closed, render_approval(closed, {})) is False
