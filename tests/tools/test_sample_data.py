"""The shipped sample world matches the team brief, and other data folders in the same format load."""

from __future__ import annotations

import shutil
import textwrap
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from tools.data_files import SampleDataError
from tools.directory_data import DirectoryData
from tools.ledger import build_ledger
from tools.ledger_data import load_ledger_data

BRIEF_PEOPLE = {
    "Alice Nguyen",
    "Bob Martin",
    "Carol Diaz",
    "Dan Okafor",
    "Erin Walsh",
    "Frank Li",
    "Grace Kim",
    "Hector Ruiz",
    "Ivy Chen",
    "Jamal Brooks",
    "Kate Novak",
    "Liam Murphy",
    "Maya Patel",
    "Noah Schmidt",
    "Olivia Rossi",
    "Priya Shah",
    "Sam Taylor",
    "Tom Becker",
}
BRIEF_OWNERS = {
    "vpn-users": "alice.nguyen",
    "it-admins": "alice.nguyen",
    "finance": "erin.walsh",
    "engineering": "frank.li",
    "hr": "grace.kim",
    "ap-leads": "kate.novak",
    "sales": "liam.murphy",
}


def test_directory_matches_the_brief(directory_data: DirectoryData) -> None:
    people = {p.display_name: p for p in directory_data.people}
    assert set(people) >= BRIEF_PEOPLE and len(people) >= 28
    assert all(p.email == f"{p.given_name}.{p.family_name}@example.com".lower() for p in people.values())
    for group, owner in BRIEF_OWNERS.items():
        record = directory_data.group(group)
        assert record is not None and f"{owner}@example.com" in record.owners
    assert {g.name for g in directory_data.groups} == {
        "engineering",
        "finance",
        "hr",
        "sales",
        "design",
        "it-admins",
        "vpn-users",
        "ap-team",
        "ap-leads",
    }
    assert people["Carol Diaz"].title == "AP Lead" and people["Dan Okafor"].title == "AP Lead"
    leads = directory_data.group("ap-leads")
    assert leads is not None and set(leads.members) == {"carol.diaz@example.com", "dan.okafor@example.com"}
    assert all(g.owners for g in directory_data.groups)


def test_ledger_matches_the_brief(sample_data_dir: Path) -> None:
    data = load_ledger_data(sample_data_dir / "ledger.yaml")
    assert [v.name for v in data.vendors] == [
        "Acme Corp",
        "Globex Ltd",
        "Initech",
        "Umbrella Supplies",
        "Stark Logistics",
        "Wayne Facilities",
        "Hooli Cloud",
        "Soylent Catering",
    ]
    assert [i.id for i in data.invoices] == [f"INV-{n}" for n in range(10001, 10121)]
    invoices = {i.id: i for i in data.invoices}
    runs = {inv: run for run in data.payment_runs for inv in run.invoices}
    assert invoices["INV-10042"].status == "approved" and runs["INV-10042"].date == date(2026, 12, 3)
    assert invoices["INV-10077"].amount > Decimal("10000") and runs["INV-10077"].status == "scheduled"
    assert {run.date.weekday() for run in data.payment_runs} <= {1, 3}  # Tuesdays and Thursdays, as the handbook says
    assert {i.status for i in data.invoices} == {"pending", "approved", "rejected", "paid"}
    raw = yaml.safe_load((sample_data_dir / "ledger.yaml").read_text())
    assert all(isinstance(i["amount"], str) for i in raw["invoices"])  # never floats in the file


def test_readme_documents_every_field(sample_data_dir: Path) -> None:
    readme = (sample_data_dir / "README.md").read_text()
    for field in (
        "given_name",
        "family_name",
        "manager",
        "active",
        "display_name",
        "owners",
        "members",
        "aliases",
        "payment_terms",
        "bank_account_last4",
        "po_number",
        "due_date",
        "payment_runs",
        "DESKHAND_SAMPLE_DATA",
        "DESKHAND_DATA_DIR",
    ):
        assert field in readme, field


def test_an_alternative_ledger_folder_loads(tmp_path: Path, sample_data_dir: Path) -> None:
    shutil.copy(sample_data_dir / "directory.yaml", tmp_path / "directory.yaml")
    (tmp_path / "ledger.yaml").write_text(
        textwrap.dedent("""
        vendors:
          - {id: V-1, name: Northwind Traders, aliases: [Northwind], payment_terms: Net 30,
             bank_account_last4: '0042'}
        invoices:
          - {id: INV-500, vendor: Northwind, amount: '99.95', issue_date: 2026-11-01, due_date: 2026-12-01,
             status: approved}
        payment_runs:
          - {id: R1, date: 2026-12-01, status: scheduled, invoices: [INV-500]}
    """).replace("vendor: Northwind,", "vendor: V-1,")
    )
    ledger = build_ledger(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path)
    try:
        info = ledger.invoice_status("INV-500")
        assert (info.vendor, info.amount, info.payment_date) == (
            "Northwind Traders",
            Decimal("99.95"),
            date(2026, 12, 1),
        )
        assert ledger.resolve_vendor("northwind") == "Northwind Traders"
        assert ledger.resolve_vendor("Acme Corp") is None
    finally:
        ledger.close()


@pytest.mark.parametrize(
    ("snippet", "error"),
    [
        ("amount: 12.5", "invoices[0].amount: write amounts as quoted strings"),
        ("amount: '12.555'", "invoices[0].amount: must be positive with at most two decimal places"),
        (
            "amount: '12.50', status: approved",
            "payment_runs: a completed run may only hold paid invoices (INV-500 is approved)",
        ),
    ],
)
def test_invalid_ledger_files_name_the_field(tmp_path: Path, snippet: str, error: str) -> None:
    status = "" if "status" in snippet else ", status: paid"
    (tmp_path / "ledger.yaml").write_text(
        textwrap.dedent(f"""
        vendors:
          - {{id: V-1, name: Northwind, payment_terms: Net 30, bank_account_last4: '0042'}}
        invoices:
          - {{id: INV-500, vendor: V-1, {snippet}{status}, issue_date: 2026-11-01, due_date: 2026-12-01}}
        payment_runs:
          - {{id: R1, date: 2026-12-01, status: completed, invoices: [INV-500]}}
    """)
    )
    with pytest.raises(SampleDataError) as caught:
        load_ledger_data(tmp_path / "ledger.yaml")
    assert error in caught.value.message
    assert caught.value.message.startswith(f"{tmp_path / 'ledger.yaml'}: invalid data")
