"""Keys of background jobs that finished, so a re-run of the same job does nothing twice.

Revision ID: 0006_job_runs
Revises: 0005_llm_usage
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_job_runs"
down_revision = "0003_inbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("job", sa.String(64), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("job_runs")
