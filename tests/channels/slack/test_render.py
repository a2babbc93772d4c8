"""Block Kit rendering: limits, escaping, citations, approval views open and closed."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from channels.base import ApprovalView, Decision, Reply, SourceRef
from channels.slack import actions
from channels.slack.render import (
    MAX_BLOCKS,
    SECTION_LIMIT,
    TEXT_LIMIT,
    render_approval,
    render_reply,
    split_text,
    to_mrkdwn,
)

MENTIONS = {"carol.diaz@example.com": "U_CAROL", "dan.okafor@example.com": "U_DAN", "bob.martin@example.com": "U_BOB"}
VIEW = ApprovalView(
    approval_id="apr-1",
    title="Put invoice INV-10077 on payment hold",
    requester="bob.martin@example.com",
    reason="Holds need an AP lead.",
    rule="ap.hold_payment",
    mode="approve",
    approvers=("carol.diaz@example.com", "dan.okafor@example.com", "nobody@example.com"),
    required=1,
    expires_at=datetime(2025, 11, 27, 14, 2, tzinfo=UTC),
    status="pending",
)


def _texts(blocks: list[dict]) -> str:
    out = []
    for b in blocks:
        out.append(b.get("text", {}).get("text", ""))
        out += [f["text"] for f in b.get("fields", [])]
        out += [e["text"] for e in b.get("elements", []) if isinstance(e.get("text"), str)]
    return "\n".join(out)


def test_huge_answer_respects_block_section_and_text_limits() -> None:
    text = ("word " * 700 + "\n\n") * 120  # ~420k characters
    cites = tuple(SourceRef(n, f"Doc {n}", f"d{n}.md", "Intro", 0.5) for n in range(1, 25))
    rendered = render_reply(Reply(text=text, route="answer", citations=cites, audit_id="aud-1"))
    assert len(rendered.blocks) <= MAX_BLOCKS
    assert len(rendered.text) <= TEXT_LIMIT
    for block in rendered.blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= SECTION_LIMIT
        if block["type"] == "context":
            assert len(block["elements"]) <= 10
    assert "shortened" in _texts(rendered.blocks)
    # feedback and "Get a human" survive truncation
    assert [b["block_id"] for b in rendered.blocks[-2:]] == [actions.FEEDBACK_BLOCK, actions.GET_HUMAN_BLOCK]
    assert "[24] Doc 24 — Intro" in _texts(rendered.blocks)  # every source kept


def test_split_text_prefers_paragraph_breaks_and_loses_nothing() -> None:
    text = "\n\n".join(f"Paragraph {n} " + "x" * 900 for n in range(10))
    chunks = split_text(text, 3000)
    assert all(len(c) <= 3000 for c in chunks)
    assert all(c.startswith("Paragraph") for c in chunks)
    assert "".join(chunks).replace("\n", "") == text.replace("\n", "")
    assert split_text("y" * 7000, 3000) == ["y" * 3000, "y" * 3000, "y" * 1000]


def test_mrkdwn_escapes_markup_and_converts_bold_and_links() -> None:
    assert to_mrkdwn("a < b & c > d") == "a &lt; b &amp; c &gt; d"
    assert to_mrkdwn("**vpn-users** via [the wiki](https://wiki.example.com/x)") == (
        "*vpn-users* via <https://wiki.example.com/x|the wiki>"
    )
    assert "<!channel>" not in to_mrkdwn("<!channel> ping")


def test_answer_without_audit_id_has_no_feedback_buttons() -> None:
    rendered = render_reply(Reply(text="Hello", route="answer"))
    assert [b["type"] for b in rendered.blocks] == ["section"]


def test_open_approval_mentions_people_and_has_buttons_with_the_approval_id() -> None:
    rendered = render_approval(VIEW, MENTIONS)
    text = _texts(rendered.blocks)
    assert "<@U_BOB>" in text and "<@U_CAROL>, <@U_DAN> and nobody@example.com" in text
    assert "2025-11-27 14:02 UTC" in text and "`ap.hold_payment`" in text
    [buttons] = [b for b in rendered.blocks if b.get("block_id") == actions.APPROVAL_BUTTONS_BLOCK]
    assert [(e["action_id"], e["value"]) for e in buttons["elements"]] == [
        (actions.APPROVE, "apr-1"),
        (actions.REJECT, "apr-1"),  # opens the reason form (no confirm dialog on top of it)
        (actions.APPROVE_WITH_COMMENT, "apr-1"),
    ]
    assert all("confirm" not in e for e in buttons["elements"])


def test_decided_approval_has_a_stamp_and_no_buttons() -> None:
    decided = replace(
        VIEW,
        status="executed",
        decisions=(Decision("carol.diaz@example.com", True, datetime(2025, 11, 26, 14, 2, tzinfo=UTC)),),
    )
    rendered = render_approval(decided, MENTIONS)
    assert not any(b.get("block_id") == actions.APPROVAL_BUTTONS_BLOCK for b in rendered.blocks)
    when = "<!date^1764165720^{date_short_pretty} at {time}|2025-11-26 14:02 UTC>"  # in the viewer's time zone
    assert f"✅ Approved by <@U_CAROL> at {when} · done" in _texts(rendered.blocks)
    assert f"Approved by <@U_CAROL> at {when} · done" in rendered.text
    assert rendered.blocks[0]["text"]["text"] == "Approved and done"  # the header no longer asks


def test_expired_and_rejected_stamps() -> None:
    expired = render_approval(replace(VIEW, status="expired"), MENTIONS)
    assert "Expired at <!date^1764252120^{date_short_pretty} at {time}|2025-11-27 14:02 UTC>" in _texts(expired.blocks)
    assert expired.blocks[0]["text"]["text"] == "Expired"
    rejected = replace(
        VIEW,
        status="rejected",
        decisions=(Decision("dan.okafor@example.com", False, datetime(2025, 11, 26, 9, 5, tzinfo=UTC)),),
    )
    assert "Rejected by <@U_DAN> at <!date^1764147900^{date_short_pretty} at {time}|2025-11-26 09:05 UTC>" in _texts(
        render_approval(rejected, MENTIONS).blocks
    )


def test_approval_title_is_escaped() -> None:
    rendered = render_approval(replace(VIEW, title="Pay <!channel> & co"), MENTIONS)
    assert "<!channel>" not in _texts(rendered.blocks) and "&lt;!channel&gt; &amp; co" in _texts(rendered.blocks)
