"""Hand-offs to human teams: the question, where it was posted or ticketed, and the thread replies come back in.

Revision ID: 0004_handoffs
Revises: 0002_approvals_audit
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_handoffs"
down_revision = "0002_approvals_audit"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "handoffs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("team", sa.String(60), nullable=False),
        sa.Column("requester", sa.String(320), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("conversation_ref", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("destination", sa.String(16), nullable=False),
        sa.Column("team_thread", sa.String(300), nullable=True),
        sa.Column("ticket_id", sa.String(100), nullable=True),
        sa.Column("link", sa.Text(), nullable=True),
        sa.Column("replies", sa.Integer(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.UniqueConstraint("request_id", name="uq_handoffs_request_id"),
        sa.UniqueConstraint("team_thread", name="uq_handoffs_team_thread"),
    )
    op.create_index("ix_handoffs_status", "handoffs", ["status"])


def downgrade() -> None:
    op.drop_index("ix_handoffs_status", table_name="handoffs")
    op.drop_table("handoffs")
