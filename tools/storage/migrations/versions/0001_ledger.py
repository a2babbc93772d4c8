"""The accounts-payable ledger: vendors, payment runs, invoices, payment holds, bank change requests.

Revision ID: 0001_ledger
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_ledger"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vendors",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("payment_terms", sa.String(40), nullable=False),
        sa.Column("bank_account_last4", sa.String(4), nullable=False),
        sa.Column("contact_name", sa.String(200)),
        sa.Column("contact_email", sa.String(320)),
        sa.Column("contact_phone", sa.String(40)),
    )
    op.create_table(
        "payment_runs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("run_date", sa.Date(), nullable=False, unique=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.CheckConstraint("status IN ('scheduled', 'completed')", name="ck_payment_runs_status"),
    )
    op.create_table(
        "invoices",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("vendor_id", sa.String(32), sa.ForeignKey("vendors.id"), nullable=False),
        sa.Column("amount", sa.Numeric(14, 2), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("po_number", sa.String(40)),
        sa.Column("description", sa.String(300)),
        sa.Column("payment_run_id", sa.String(32), sa.ForeignKey("payment_runs.id")),
        sa.CheckConstraint("status IN ('pending', 'approved', 'rejected', 'paid')", name="ck_invoices_status"),
    )
    op.create_index("ix_invoices_vendor_id", "invoices", ["vendor_id"])
    op.create_table(
        "payment_holds",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("invoice_id", sa.String(32), sa.ForeignKey("invoices.id"), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("placed_by", sa.String(320), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
        sa.Column("released_by", sa.String(320)),
        sa.Column("released_at", sa.DateTime(timezone=True)),
        sa.Column("release_key", sa.String(200), unique=True),
    )
    # At most one active (unreleased) hold per invoice, enforced by the database.
    op.create_index(
        "uq_payment_holds_active",
        "payment_holds",
        ["invoice_id"],
        unique=True,
        sqlite_where=sa.text("released_at IS NULL"),
        postgresql_where=sa.text("released_at IS NULL"),
    )
    op.create_table(
        "bank_change_requests",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("vendor_id", sa.String(32), sa.ForeignKey("vendors.id"), nullable=False),
        sa.Column("account_kind", sa.String(8), nullable=False),
        sa.Column("account_last4", sa.String(4), nullable=False),
        sa.Column("routing_hint", sa.String(20)),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("requested_by", sa.String(320), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
    )


def downgrade() -> None:
    op.drop_table("bank_change_requests")
    op.drop_index("uq_payment_holds_active", table_name="payment_holds")
    op.drop_table("payment_holds")
    op.drop_index("ix_invoices_vendor_id", table_name="invoices")
    op.drop_table("invoices")
    op.drop_table("payment_runs")
    op.drop_table("vendors")
