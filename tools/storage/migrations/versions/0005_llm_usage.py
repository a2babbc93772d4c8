"""LLM token usage per request (user, team, model, purpose) and the once-per-month budget notices.

Revision ID: 0005_llm_usage
Revises: 0002_approvals_audit
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_llm_usage"
down_revision = "0004_handoffs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "llm_usage",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("user", sa.String(320), nullable=True),
        sa.Column("team", sa.String(200), nullable=True),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
    )
    op.create_index("ix_llm_usage_team_at", "llm_usage", ["team", "at"])
    op.create_table(
        "llm_budget_notices",
        sa.Column("team", sa.String(200), primary_key=True),
        sa.Column("month", sa.String(7), primary_key=True),  # YYYY-MM: each team is told once a month
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("admins", sa.JSON(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("llm_budget_notices")
    op.drop_index("ix_llm_usage_team_at", "llm_usage")
    op.drop_table("llm_usage")
