"""Durable channel inbox and handled-event records; execution lease columns on approvals.

Revision ID: 0003_inbox
Revises: 0005_llm_usage
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_inbox"
down_revision = "0005_llm_usage"  # re-chained after main's 0004/0005 (both were cut from 0002)
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "channel_inbox",
        sa.Column("key", sa.String(200), primary_key=True),  # the channel's dedup key (e.g. slack:event:Ev…)
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),  # received | answered | done | failed
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("received_at", TZ, nullable=False),
        sa.Column("lease_until", TZ, nullable=True),
        sa.Column("finished_at", TZ, nullable=True),
        sa.Column("reply", sa.JSON(), nullable=True),  # a finished answer waiting to be delivered
    )
    op.create_index("ix_channel_inbox_state_lease", "channel_inbox", ["state", "lease_until"])
    op.add_column("approvals", sa.Column("claimed_at", TZ, nullable=True))
    op.add_column("approvals", sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("approvals") as batch:
        batch.drop_column("attempts")
        batch.drop_column("claimed_at")
    op.drop_table("channel_inbox")
