"""A full section within each channel's limits: Slack messages of at most 50 blocks with sections of at most
3,000 characters, Teams messages of at most about 12,000, nothing lost, list items kept on their own lines;
an answer with nothing cut shows no offer."""

from __future__ import annotations

from channels.base import Reply, SectionText
from channels.slack import actions
from channels.slack.render import MAX_BLOCKS, SECTION_LIMIT, render_reply, render_section
from channels.teams import render as teams_render
from channels.teams import verbs

LINES = [f"- Item {n}: keep receipts for expense type {n} & file them <monthly>." for n in range(4000)]
SECTION = SectionText(True, "Expenses:\n" + "\n".join(LINES), "Handbook", "Expenses", "https://h.example/exp")


def test_a_long_section_is_split_to_slacks_limits_without_losing_text() -> None:
    messages = render_section(SECTION)
    assert len(messages) > 1
    assert all(len(m.blocks) <= MAX_BLOCKS for m in messages)
    texts = [b["text"]["text"] for m in messages for b in m.blocks if b["type"] == "section"]
    assert all(len(t) <= SECTION_LIMIT for t in texts)
    joined = "\n".join(texts)
    assert all(line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") in joined for line in LINES)
    assert "<https://h.example/exp|Handbook — Expenses>" in messages[0].blocks[0]["elements"][0]["text"]


def test_a_long_section_is_split_for_teams_with_list_items_on_their_own_lines() -> None:
    messages = teams_render.section_messages(SECTION)
    assert len(messages) > 1 and all(len(m["text"]) <= 12_200 for m in messages)
    joined = "\n".join(m["text"] for m in messages)
    assert all(line in joined for line in LINES)
    assert "- Item 1: keep receipts for expense type 1 & file them <monthly>.\n- Item 2:" in joined


def test_the_offer_is_shown_only_with_a_section_reference() -> None:
    def slack_buttons(reply: Reply) -> list[str]:
        blocks = render_reply(reply).blocks
        return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]

    def teams_verbs(reply: Reply) -> list[str]:
        card = teams_render.answer_card(reply) or {}
        return [a["verb"] for a in card.get("actions", [])]

    whole = Reply(text="Bicycles go in the basement rack. [1]", route="answer", audit_id="aud-1")
    cut = Reply(text="Step 1 … [1]", route="answer", audit_id="aud-2", section="20261130T000000000000Z:7")
    assert actions.SHOW_SECTION not in slack_buttons(whole) and verbs.SECTION not in teams_verbs(whole)
    assert actions.SHOW_SECTION in slack_buttons(cut) and verbs.SECTION in teams_verbs(cut)
