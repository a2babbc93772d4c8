"""The tool catalog: schemas, flags, results as JSON, errors as clear messages, LangChain wrapping."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from langchain_core.messages import ToolMessage
from pydantic import BaseModel
from sqlalchemy import text

from graphs.governance.policy import Policy
from tools.catalog import ToolContext, ToolEnv, ToolResult, ToolSpec, as_langchain_tools, build_tools
from tools.directory import Directory
from tools.ledger import build_ledger

HECTOR = ToolContext(requester="hector.ruiz@example.com", idempotency_key="approval-7", request_id="req-1")
READ = ToolContext(requester="bob.martin@example.com")
TOOL_NAMES = (  # every tools/*_tools.py module, in module order
    "vendor_approvers",
    "find_user",
    "create_user",
    "add_to_group",
    "remove_from_group",
    "deactivate_user",
    "invoice_status",
    "vendor_payments",
    "hold_payment",
    "release_hold",
    "vendor_bank_change",
)
POLICY = Path(__file__).resolve().parents[2] / "graphs" / "governance" / "policy.yaml"


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


def _json_round_trip(result: ToolResult) -> dict[str, object]:
    return json.loads(json.dumps({"ok": result.ok, "summary": result.summary, "data": result.data}))


async def test_catalog_names_flags_and_model_facing_schemas(tools: dict[str, ToolSpec]) -> None:
    assert tuple(tools) == TOOL_NAMES
    read_only = {"find_user", "invoice_status", "vendor_payments", "vendor_approvers"}
    assert {n for n, s in tools.items() if s.read_only} == read_only
    assert {n for n, s in tools.items() if not s.sensitive} == {"add_to_group", "remove_from_group", "deactivate_user"}
    for spec in tools.values():
        schema = spec.args_model.model_json_schema()
        assert spec.description and len(spec.description) > 40
        assert schema["properties"], spec.name
        for name, prop in schema["properties"].items():
            assert prop.get("description"), f"{spec.name}.{name} has no description"
        assert not {"requester", "idempotency_key", "ctx"} & set(schema["properties"])


async def test_read_tools_answer_with_json_safe_data(tools: dict[str, ToolSpec]) -> None:
    found = await tools["find_user"].run({"query": "hector ruiz"}, READ)
    assert found.ok and found.summary.startswith("Hector Ruiz (hector.ruiz@example.com) — AP Clerk, Finance")
    assert "manager Carol Diaz" in found.summary
    invoice = await tools["invoice_status"].run({"invoice_id": "inv-10077"}, READ)
    assert invoice.ok
    assert invoice.summary == (
        "INV-10077 from Wayne Facilities: $48,250.00, due 08 Dec 2026, approved. "
        "Scheduled for the payment run on Tue 08 Dec 2026."
    )
    data = _json_round_trip(invoice)["data"]
    assert data == invoice.data
    assert invoice.data["invoice"]["amount"] == "48250.00"
    assert invoice.data["invoice"]["due_date"] == "2026-12-08"
    vendor = await tools["vendor_payments"].run({"vendor": "Acme"}, READ)
    assert vendor.ok and "Next payment: Thu 03 Dec 2026" in vendor.summary and "INV-10042" in vendor.summary
    assert _json_round_trip(vendor)["data"] == vendor.data


async def test_write_tools_run_once_per_idempotency_key(tools: dict[str, ToolSpec]) -> None:
    args = {
        "given_name": "Dana",
        "family_name": "Reyes",
        "department": "Finance",
        "start_date": "2026-11-30",
        "manager_email": "erin.walsh@example.com",
    }
    first = await tools["create_user"].run(args, HECTOR)
    again = await tools["create_user"].run(args, HECTOR)
    assert first.ok and first.data["created"] is True and first.data["person"]["email"] == "dana.reyes@example.com"
    assert again.summary == first.summary
    found = await tools["find_user"].run({"query": "Dana Reyes"}, READ)
    assert len(found.data["people"]) == 1

    added = await tools["add_to_group"].run({"email": "dana.reyes@example.com", "group": "ap-team"}, HECTOR)
    assert added.summary == "Added Dana Reyes (dana.reyes@example.com) to AP Team."
    removed = await tools["remove_from_group"].run({"email": "dana.reyes@example.com", "group": "AP Team"}, HECTOR)
    assert removed.ok and removed.summary.startswith("Removed Dana Reyes")
    gone = await tools["deactivate_user"].run({"email": "DANA.REYES@example.com"}, HECTOR)
    assert gone.summary == "Deactivated Dana Reyes's account (dana.reyes@example.com)."

    hold = await tools["hold_payment"].run({"invoice_id": "INV-10077", "reason": "disputed scope"}, HECTOR)
    assert hold.ok and hold.data["hold"]["by"] == "hector.ruiz@example.com"
    assert hold.summary.startswith("Put INV-10077 (Wayne Facilities, $48,250.00) on hold")
    replay = await tools["hold_payment"].run({"invoice_id": "INV-10077", "reason": "disputed scope"}, HECTOR)
    assert replay.summary == hold.summary and replay.data["hold"]["replayed"] is True
    release_ctx = ToolContext(requester="carol.diaz@example.com", idempotency_key="approval-8")
    released = await tools["release_hold"].run({"invoice_id": "INV-10077"}, release_ctx)
    assert released.summary == (
        "Released the hold on INV-10077 (Wayne Facilities); it will be paid in the run of 08 Dec 2026."
    )


async def test_bank_change_tool_masks_everything(tools: dict[str, ToolSpec]) -> None:
    spec = tools["vendor_bank_change"]
    args = {"vendor": "acme corp", "account_number": "000123456789", "routing_number": "021000021"}
    result = await spec.run(args, HECTOR)
    assert result.ok and "••••6789" in result.summary and "••••4821" in result.summary
    assert "current account ••••4821 until the AP team has verified the change" in result.summary
    blob = json.dumps(_json_round_trip(result))
    assert "123456789" not in blob and "021000021" not in blob
    assert spec.redact(args) == {"vendor": "acme corp", "account_number": "••••6789", "routing_number": "••••0021"}
    parsed = spec.parse(args)
    assert spec.redact(parsed) == {
        "vendor": "acme corp",
        "account_number": "••••6789",
        "routing_number": "••••0021",
        "iban": None,
        "bic": None,
    }
    assert spec.facts is not None and await spec.facts(args) == {"vendor": "Acme Corp"}


async def test_facts_for_the_policy(tools: dict[str, ToolSpec]) -> None:
    facts = await tools["hold_payment"].facts({"invoice_id": "INV-10077", "reason": "x" * 5})
    assert facts["amount"] == "48250.00" and facts["currency"] == "USD" and facts["vendor"] == "Wayne Facilities"
    group = await tools["add_to_group"].facts({"email": "tom.becker@example.com", "group": "VPN Users"})
    assert group == {
        "person": "tom.becker@example.com",
        "person_name": "Tom Becker",
        "group": "vpn-users",
        "group_display_name": "VPN Users",
        "group_owners": ["alice.nguyen@example.com"],
        "is_member": False,
    }
    joiner = await tools["create_user"].facts(
        {"given_name": "José", "family_name": "Ñúñez", "department": "Sales", "start_date": "2026-12-01"}
    )
    assert joiner["email"] == "jose.nunez@example.com"
    missing = await tools["release_hold"].facts({"invoice_id": "INV-99999"})
    assert missing == {"error": "not_found", "message": "There is no invoice INV-99999 in the ledger."}


async def test_expected_errors_are_clear_results(tools: dict[str, ToolSpec]) -> None:
    cases = [
        ("invoice_status", {"invoice_id": "INV-99999"}, "not_found", "There is no invoice INV-99999 in the ledger."),
        (
            "add_to_group",
            {"email": "bob.martin@example.com", "group": "marketing"},
            "not_found",
            "There is no group called 'marketing' in the directory.",
        ),
        (
            "hold_payment",
            {"invoice_id": "INV-10001", "reason": "late"},
            "not_allowed",
            "INV-10001 was already paid in the payment run of 01 Oct 2026; a hold can no longer stop it. "
            "Ask the AP team about recalling the payment.",
        ),
        (
            "vendor_bank_change",
            {"vendor": "Globex", "iban": "GB82 WEST 1234 5698 7654 33"},
            "invalid_request",
            "That IBAN is not valid (its check digits do not match).",
        ),
        (
            "vendor_payments",
            {"vendor": "Massive Dynamic"},
            "not_found",
            "There is no vendor called 'Massive Dynamic' in the ledger.",
        ),
    ]
    for name, args, kind, message in cases:
        result = await tools[name].run(args, HECTOR)
        assert (result.ok, result.data["error"]) == (False, kind), name
        assert result.summary.startswith(message), result.summary


async def test_invalid_arguments_name_the_field(tools: dict[str, ToolSpec]) -> None:
    result = await tools["add_to_group"].run({"email": "not an email", "group": "hr"}, HECTOR)
    assert not result.ok and result.data == {"error": "invalid_arguments", "fields": ["email"]}
    assert result.summary.startswith("Some details are missing or invalid — email:")
    result = await tools["invoice_status"].run({"invoice_id": "the big one"}, READ)
    assert result.summary == (
        "Some details are missing or invalid — invoice id: should be an invoice number such as INV-10042."
    )
    result = await tools["vendor_bank_change"].run({"vendor": "Acme", "account_number": "1", "iban": "x"}, HECTOR)
    assert not result.ok and "either account_number" in result.summary


async def test_write_tool_without_idempotency_key_is_a_programming_error(tools: dict[str, ToolSpec]) -> None:
    with pytest.raises(ValueError, match="idempotency_key"):
        await tools["deactivate_user"].run({"email": "bob.martin@example.com"}, READ)


async def test_directory_down_and_unexpected_failures_never_leak_details(
    directory_factory: Callable[..., Directory], sqlite_url: str, sample_data_dir: Path
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ledger = build_ledger(sqlite_url, sample_data_dir)
    try:
        specs = build_tools(ToolEnv(directory_factory(f"http://127.0.0.1:{port}/v2"), ledger, Policy.load(POLICY)))
        down = await specs["find_user"].run({"query": "alice"}, READ)
        assert (down.ok, down.data["error"]) == (False, "unavailable")
        assert down.summary.startswith("The directory is not responding right now")
        with ledger._sessions.begin() as session:  # break the database under the tool
            session.execute(text("DROP TABLE payment_holds"))
        broken = await specs["hold_payment"].run({"invoice_id": "INV-10042", "reason": "check"}, HECTOR)
        assert (broken.ok, broken.data["error"]) == (False, "internal")
        reference = broken.data["reference"]
        assert isinstance(reference, str) and reference in broken.summary
        assert "payment_holds" not in broken.summary and "Error" not in broken.summary
    finally:
        ledger.close()


async def test_langchain_tools_share_schemas_and_inject_the_caller(tools: dict[str, ToolSpec]) -> None:
    calls: list[ToolContext] = []

    def ctx() -> ToolContext:
        calls.append(ToolContext(requester="carol.diaz@example.com", idempotency_key=f"lc-{len(calls)}"))
        return calls[-1]

    wrapped = {t.name: t for t in as_langchain_tools(tools, ctx)}
    assert tuple(wrapped) == TOOL_NAMES
    hold = wrapped["hold_payment"]
    assert hold.args_schema is tools["hold_payment"].args_model
    call_schema = hold.tool_call_schema
    assert isinstance(call_schema, type) and issubclass(call_schema, BaseModel)
    assert set(call_schema.model_json_schema()["properties"]) == {"invoice_id", "reason"}
    assert hold.description == tools["hold_payment"].description
    message = await hold.ainvoke(
        {
            "name": "hold_payment",
            "args": {"invoice_id": "INV-10042", "reason": "check PO"},
            "id": "call-1",
            "type": "tool_call",
        }
    )
    assert isinstance(message, ToolMessage)
    assert str(message.content).startswith("Put INV-10042 (Acme Corp, $3,480.00) on hold")
    assert isinstance(message.artifact, ToolResult) and message.artifact.ok
    assert message.artifact.data["hold"]["by"] == "carol.diaz@example.com"
    assert len(calls) == 1
