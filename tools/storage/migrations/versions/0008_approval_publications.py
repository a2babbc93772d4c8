"""Decisions taken outside the chat channels (the command line) that the worker still has to publish there, and
which processes run that publication (so the command line can say whether one is running).

Revision ID: 0008_approval_publications
Revises: 0007_approval_joins
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_approval_publications"
down_revision = "0007_approval_joins"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    # One row per approval: written in the decision's own transaction, so a recorded decision is never
    # left unpublished; `published_at` is set once every requester is told and every card redrawn.
    op.create_table(
        "approval_publications",
        sa.Column("approval_id", sa.String(32), sa.ForeignKey("approvals.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("owed_at", TZ, nullable=False),
        sa.Column("notice", sa.JSON(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", TZ, nullable=True),
        sa.Column("published_at", TZ, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
    )
    op.create_index("ix_approval_publications_next_at", "approval_publications", ["next_at"])
    op.create_table(
        "publishers",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("seen_at", TZ, nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("publishers")
    op.drop_index("ix_approval_publications_next_at", table_name="approval_publications")
    op.drop_table("approval_publications")
