"""sessions, budgets and rate cards (issue 6)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "budgets",
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.String(length=36), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "subject_id"),
    )
    op.create_table(
        "rate_cards",
        sa.Column("backend", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("cost_1q_gate", sa.Float(), nullable=False),
        sa.Column("cost_2q_gate", sa.Float(), nullable=False),
        sa.Column("job_cost_minimum", sa.Float(), nullable=False),
        sa.Column("job_cost_minimum_em", sa.Float(), nullable=False),
        sa.Column("unit_cost", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("backend"),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("creator_id", sa.String(length=24), nullable=False),
        sa.Column("backend", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("job_count_limit", sa.Integer(), nullable=True),
        sa.Column("duration_limit_min", sa.Integer(), nullable=True),
        sa.Column("cost_limit", sa.Float(), nullable=True),
        sa.Column("cost_limit_unit", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ender_id", sa.String(length=24), nullable=True),
        sa.Column("end_reason", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["creator_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sessions_expiry", "sessions", ["status", "expires_at"], unique=False)
    op.create_index("ix_sessions_project", "sessions", ["project_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_sessions_project", table_name="sessions")
    op.drop_index("ix_sessions_expiry", table_name="sessions")

    op.drop_table("sessions")
    op.drop_table("rate_cards")
    op.drop_table("budgets")
