"""One request, one approval: a pending approval's claim on its digest, and the other requesters waiting on it.

Revision ID: 0007_approval_joins
Revises: 0006_job_runs
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_approval_joins"
down_revision = "0006_job_runs"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    # The primary key is the race guard: two processes asking for the same thing insert the same digest,
    # and exactly one insert wins; the other joins the winner's approval.
    op.create_table(
        "approval_digest_claims",
        sa.Column("args_digest", sa.String(64), primary_key=True),
        sa.Column("approval_id", sa.String(32), sa.ForeignKey("approvals.id", ondelete="CASCADE"), nullable=False),
        sa.Column("claimed_at", TZ, nullable=False),
    )
    op.create_table(
        "approval_waiters",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("approval_id", sa.String(32), sa.ForeignKey("approvals.id", ondelete="CASCADE"), nullable=False),
        sa.Column("requester", sa.String(320), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("conversation_ref", sa.JSON(), nullable=False),
        sa.Column("joined_at", TZ, nullable=False),
        sa.UniqueConstraint("approval_id", "requester", name="uq_approval_waiters_requester"),
    )
    op.create_index("ix_approval_waiters_approval_id", "approval_waiters", ["approval_id"])


def downgrade() -> None:
    op.drop_index("ix_approval_waiters_approval_id", table_name="approval_waiters")
    op.drop_table("approval_waiters")
    op.drop_table("approval_digest_claims")
