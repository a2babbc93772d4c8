"""Each tool declares its slots, their mapping to arguments, its title and the state it flips; the approval
digest leaves exactly that state out, so an action that crashed half-way can be re-driven."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from graphs.governance.approval_records import compute_digest
from graphs.governance.policy import Policy
from graphs.messages import CLARIFY
from tools.catalog import ToolContext, ToolEnv, ToolSpec, build_tools
from tools.directory import Directory
from tools.ledger import build_ledger

POLICY = Path(__file__).resolve().parents[2] / "graphs" / "governance" / "policy.yaml"
SLOTS = {  # what the slot extractor finds in a typical request for each tool
    "find_user": {"user": "maya.patel@example.com"},
    "create_user": {"name": "Dana Reyes", "department": "Finance", "start_date": "2026-12-07"},
    "add_to_group": {"user": "maya.patel@example.com", "group": "engineering"},
    "remove_from_group": {"user": "sam.taylor@example.com", "group": "engineering"},
    "deactivate_user": {"user": "sam.taylor@example.com"},
    "invoice_status": {"invoice_id": "INV-10042"},
    "vendor_payments": {"vendor": "Acme Corp"},
    "hold_payment": {"invoice_id": "INV-10042"},
    "release_hold": {"invoice_id": "INV-10042"},
    "vendor_bank_change": {"vendor": "Acme Corp", "iban": "DE89370400440532013000"},
    "vendor_approvers": {"vendor": "Acme Corp", "amount": "12000.00"},
}
CAROL = ToolContext(requester="carol.diaz@example.com", idempotency_key="approval:apr_1", request_id="r1")


@pytest.fixture
async def tools(
    make_scim_server: Callable[..., str],
    directory_factory: Callable[..., Directory],
    sqlite_url: str,
    sample_data_dir: Path,
) -> AsyncIterator[dict[str, ToolSpec]]:
    ledger = build_ledger(sqlite_url, sample_data_dir)
    yield build_tools(ToolEnv(directory_factory(make_scim_server()), ledger, Policy.load(POLICY)))
    ledger.close()


async def test_typical_slots_become_valid_arguments_and_a_specific_title(tools: dict[str, ToolSpec]) -> None:
    assert set(SLOTS) == set(tools)
    for name, spec in tools.items():
        assert set(spec.slots) <= set(SLOTS[name]) and set(spec.slots) <= set(CLARIFY), name
        args = spec.parse(spec.args_from_slots(SLOTS[name])).model_dump(mode="json", exclude_none=True)
        title = spec.title(args)
        assert not title.startswith("Run ") and any(str(v) in title for v in args.values()), (name, title)
        assert spec.side_effects != spec.read_only
        assert "noop" in spec.state_facts and (spec.flips == frozenset() or spec.side_effects)


async def test_the_digest_survives_the_state_the_action_flips(tools: dict[str, ToolSpec]) -> None:
    cases = [
        ("add_to_group", {"email": "maya.patel@example.com", "group": "design"}),
        ("deactivate_user", {"email": "sam.taylor@example.com"}),
        ("hold_payment", {"invoice_id": "INV-10042", "reason": "disputed"}),
    ]
    for name, args in cases:
        spec = tools[name]
        before = await spec.facts(args)
        assert "noop" not in before, name
        assert (await spec.run(args, CAROL)).ok, name
        after = await spec.facts(args)  # the state flipped: now there is nothing left to do
        assert isinstance(after.get("noop"), str), name
        assert compute_digest(name, args, before, spec.state_facts) == compute_digest(
            name, args, after, spec.state_facts
        ), name
        assert compute_digest(name, args, before) != compute_digest(name, args, after), name


async def test_a_fact_the_approver_decided_on_still_binds(tools: dict[str, ToolSpec]) -> None:
    spec = tools["hold_payment"]
    args = {"invoice_id": "INV-10042", "reason": "disputed"}
    facts = await spec.facts(args)
    changed = {**facts, "amount": "99999.00"}
    assert compute_digest("hold_payment", args, facts, spec.state_facts) != compute_digest(
        "hold_payment", args, changed, spec.state_facts
    )
