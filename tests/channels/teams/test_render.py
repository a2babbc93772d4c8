"""Rendering neutral replies and approval views as Teams activities and Adaptive Cards."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from channels.base import ApprovalView, Decision, Reply, SourceRef
from channels.core.present import display_name, status_line, view_from_data, view_to_data
from channels.teams import render
from channels.teams.courier import to_activity

NOW = datetime.now(UTC).replace(hour=14, minute=2, second=0, microsecond=0)
VIEW = ApprovalView(
    approval_id="apr-7",
    title="Put invoice INV-10077 on payment hold",
    requester="bob.martin@example.com",
    reason="Payment holds need an AP lead's approval.",
    rule="ap.hold_payment",
    mode="approve",
    approvers=("carol.diaz@example.com", "dan.okafor@example.com"),
    required=1,
    expires_at=NOW + timedelta(hours=4),
    status="pending",
    arguments={"invoice": "INV-10077", "iban": "DE89370400440532013000"},
)
CAROL = Decision("carol.diaz@example.com", True, NOW)


@pytest.mark.parametrize(
    ("view", "line"),
    [
        (replace(VIEW, status="executed", decisions=(CAROL,)), "Approved by Carol Diaz at 14:02 UTC · done"),
        (replace(VIEW, status="approved", decisions=(CAROL,)), "Approved by Carol Diaz at 14:02 UTC"),
        (
            replace(VIEW, status="failed", decisions=(CAROL,)),
            "Approved by Carol Diaz at 14:02 UTC · the action failed",
        ),
        (
            replace(VIEW, status="rejected", decisions=(Decision("dan.okafor@example.com", False, NOW),)),
            "Rejected by Dan Okafor at 14:02 UTC",
        ),
        (replace(VIEW, status="expired", expires_at=NOW), "Expired at 14:02 UTC without a decision"),
        (replace(VIEW, status="cancelled"), "Cancelled"),
        (
            replace(VIEW, mode="four_eyes", required=2, decisions=(CAROL,)),
            "Approved by Carol Diaz at 14:02 UTC · 1 more approval needed",
        ),
        (
            replace(
                VIEW,
                mode="four_eyes",
                required=2,
                status="executed",
                decisions=(CAROL, Decision("kate.novak@example.com", True, NOW + timedelta(minutes=3))),
            ),
            "Approved by Carol Diaz and Kate Novak at 14:05 UTC · done",
        ),
    ],
)
def test_status_line(view: ApprovalView, line: str) -> None:
    assert status_line(view) == line


def test_pending_card_has_execute_buttons_with_submit_fallbacks_and_no_arguments() -> None:
    card = render.approval_card(VIEW)
    assert card["version"] == "1.5" and card["$schema"].startswith("http://adaptivecards.io/")
    approve, reject, comment = card["actions"]
    assert (approve["verb"], approve["style"], reject["verb"], reject["style"]) == (
        "approve",
        "positive",
        "reject",  # opens the reason form
        "destructive",
    )
    assert comment["verb"] == "approve_comment" and "style" not in comment
    assert approve["fallback"] == {
        "type": "Action.Submit",
        "title": "Approve",
        "style": "positive",
        "data": {"verb": "approve", "approval_id": "apr-7"},
    }
    assert "refresh" not in card  # no approver ids known: nobody to refresh for
    assert "DE89370400440532013000" not in str(card)  # the tool's arguments never reach the card


def test_closed_card_has_no_buttons_and_no_refresh_even_with_known_approvers() -> None:
    ids = {"carol.diaz@example.com": "aad-carol"}
    assert render.approval_card(VIEW, ids)["refresh"]["userIds"] == ["aad-carol"]
    for status in ("executed", "rejected", "expired", "failed", "cancelled", "approved"):
        card = render.approval_card(replace(VIEW, status=status, decisions=(CAROL,)), ids)
        assert "actions" not in card and "refresh" not in card


def test_refresh_is_limited_to_sixty_users() -> None:
    approvers = tuple(f"user{i}@example.com" for i in range(75))
    ids = {email: f"aad-{i}" for i, email in enumerate(approvers)}
    card = render.approval_card(replace(VIEW, approvers=approvers), ids)
    assert len(card["refresh"]["userIds"]) == render.MAX_REFRESH_USERS


def test_display_name_from_email() -> None:
    assert display_name("carol.diaz@example.com") == "Carol Diaz"
    assert display_name("mary-jane_watson@example.com") == "Mary Jane Watson"
    assert display_name("@example.com") == "@example.com"


def test_citation_entity_fits_teams_limits() -> None:
    ref = SourceRef(1, "T" * 120, "hr/leave.md", "H" * 300, 0.9, None)
    [claim] = render.citation_entity((ref,))["citation"]
    assert claim == {
        "@type": "Claim",
        "position": 1,
        "appearance": {"@type": "DigitalDocument", "name": "T" * 80, "abstract": "H" * 160, "keywords": ["H" * 28]},
    }


def test_answer_activity_sends_citation_entities_with_all_their_fields() -> None:
    reply = Reply(text="Ask IT [1].", route="answer", citations=(SourceRef(1, "VPN", "it/vpn.md", "Setup", 0.8),))
    [entity] = to_activity(render.answer_message(reply)).serialize()["entities"]
    assert entity["type"] == "https://schema.org/Message" and entity["citation"][0]["position"] == 1
    assert entity["additionalType"] == ["AIGeneratedContent"]


@pytest.mark.parametrize(("route", "buttons"), [("answer", 2), ("no_answer", 2), ("tool", 0), ("clarify", 0)])
def test_feedback_buttons_only_on_knowledge_answers(route: str, buttons: int) -> None:
    card = render.answer_card(Reply(text="…", route=route, audit_id="aud-1"))  # type: ignore[arg-type]
    assert len((card or {}).get("actions", [])) == buttons


def test_plain_replies_are_text_only_and_error_replies_carry_their_reference() -> None:
    plain = render.answer_message(Reply(text="Which group?", route="clarify"))
    assert plain["text"] == "Which group?" and "attachments" not in plain and "entities" not in plain
    failed = render.answer_message(Reply(text="Sorry, that failed.", route="error", reference_id="9F2A1C7B"))
    assert failed["text"] == "Sorry, that failed. (reference 9F2A1C7B)"


def test_view_survives_the_cache_round_trip_without_arguments() -> None:
    view = replace(VIEW, decisions=(CAROL,), status="executed")
    assert view_from_data(view_to_data(view)) == replace(view, arguments={})


def test_times_are_shown_in_the_viewers_time_zone_and_a_decided_card_says_who_and_when() -> None:
    stamp = NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
    expires = (NOW + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M:%SZ")
    pending = render.approval_card(VIEW)
    facts = {f["title"]: f["value"] for f in pending["body"][2]["facts"]}
    assert facts["Expires"] == f"{{{{DATE({expires}, SHORT)}}}} {{{{TIME({expires})}}}}"
    assert pending["body"][0]["text"] == "Approval needed"
    decided = render.approval_card(replace(VIEW, status="executed", decisions=(CAROL,)))
    assert decided["body"][0]["text"] == "Approved and done"
    assert decided["body"][3]["text"] == f"Approved by Carol Diaz at {{{{TIME({stamp})}}}} · done"
    rejected = render.approval_card(
        replace(VIEW, status="rejected", decisions=(Decision("dan.okafor@example.com", False, NOW),))
    )
    assert rejected["body"][0]["text"] == "Rejected"
    assert rejected["body"][3]["text"] == f"Rejected by Dan Okafor at {{{{TIME({stamp})}}}}"
    # The notification summary cannot run card functions: it carries the plain UTC time.
    assert "14:02 UTC" in render.approval_message(replace(VIEW, status="executed", decisions=(CAROL,)))["summary"]
