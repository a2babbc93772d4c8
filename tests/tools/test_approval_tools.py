"""vendor_approvers: who would approve a vendor's AP actions, read from the real policy and directory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from graphs.governance.policy import Policy
from tools.catalog import ToolContext, ToolEnv, ToolSpec, build_tools
from tools.directory import Directory
from tools.ledger import Ledger, build_ledger

POLICY = Path(__file__).resolve().parents[2] / "graphs" / "governance" / "policy.yaml"
BOB = ToolContext(requester="bob.martin@example.com")  # not an AP lead
CAROL = ToolContext(requester="carol.diaz@example.com")  # an AP lead


@pytest.fixture
async def env(
    make_scim_server: Callable[..., str],
    directory_factory: Callable[..., Directory],
    sqlite_url: str,
    sample_data_dir: Path,
) -> AsyncIterator[tuple[ToolSpec, Ledger, Directory]]:
    ledger = build_ledger(sqlite_url, sample_data_dir)
    directory = directory_factory(make_scim_server())
    yield build_tools(ToolEnv(directory, ledger, Policy.load(POLICY)))["vendor_approvers"], ledger, directory
    ledger.close()


async def test_it_names_the_ap_leads_for_the_vendors_largest_open_invoice(env) -> None:
    spec, ledger, directory = env
    leads = await directory.group_members("ap-leads")
    largest = max(i.amount for i in ledger.vendor_payments("Acme").open_invoices)
    result = await spec.run({"vendor": "acme"}, BOB)
    assert result.ok and spec.read_only and not spec.side_effects
    assert result.data["vendor"] == "Acme Corp" and result.data["amount"] == str(largest)
    actions = result.data["actions"]
    assert set(actions) == {"hold_payment", "release_hold", "vendor_bank_change"}
    assert largest <= 10000 and actions["hold_payment"]["required"] == 1  # under the four-eyes threshold
    assert actions["vendor_bank_change"] == {"mode": "four_eyes", "approvers": leads, "required": 2}
    assert "Carol Diaz or Dan Okafor" in result.summary  # people by name, not e-mail
    assert result.summary.startswith("Who approves AP actions for Acme Corp")


async def test_an_amount_over_the_threshold_needs_two_leads_and_the_asker_never_approves(env) -> None:
    spec, _ledger, _directory = env
    small = await spec.run({"vendor": "Acme Corp", "amount": "900"}, BOB)
    large = await spec.run({"vendor": "Acme Corp", "amount": "25000"}, BOB)
    own = await spec.run({"vendor": "Acme Corp", "amount": "25000"}, CAROL)
    assert small.data["actions"]["hold_payment"]["mode"] == "approve"
    assert large.data["actions"]["hold_payment"]["mode"] == "four_eyes"
    assert large.data["actions"]["hold_payment"]["required"] == 2 and "$25,000.00" in large.summary
    assert "hold payment: two approvals from different people among Carol Diaz and Dan Okafor." in large.summary
    assert "carol.diaz@example.com" not in own.data["actions"]["hold_payment"]["approvers"]
    assert "can't approve their own request" in own.summary


async def test_an_unknown_vendor_or_a_bad_amount_is_a_clear_refusal(env) -> None:
    spec, _ledger, _directory = env
    unknown = await spec.run({"vendor": "Zorblax Holdings"}, BOB)
    negative = await spec.run({"vendor": "Acme", "amount": "-5"}, BOB)
    assert (unknown.ok, unknown.data["error"]) == (False, "not_found")
    assert (negative.ok, negative.data["error"]) == (False, "invalid_arguments")


async def test_slots_become_arguments_and_a_title(env) -> None:
    spec, _ledger, _directory = env
    args = spec.parse(spec.args_from_slots({"vendor": "Acme Corp", "amount": "12000.00"})).model_dump(mode="json")
    assert args == {"vendor": "Acme Corp", "amount": "12000.00"}
    assert spec.slots == ("vendor",) and spec.title(args) == "Look up who approves AP actions for Acme Corp"
