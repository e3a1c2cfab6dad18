"""jobs census index: the metrics' jobs-by-status-and-backend count reads an index, not the table

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_jobs_census", "jobs", ["parent_id", "deleted_at", "status", "backend"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_jobs_census", table_name="jobs")
