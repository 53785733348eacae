"""study runs and their values

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    json_type = postgresql.JSONB() if op.get_bind().dialect.name == "postgresql" else sa.JSON()
    op.create_table(
        "study_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study", sa.String(length=64), nullable=False),
        sa.Column("parameters", json_type, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("device", sa.String(length=255), nullable=False),
        sa.Column("python_version", sa.String(length=32), nullable=False),
        sa.Column("torch_version", sa.String(length=64), nullable=False),
        sa.Column("mtlx_version", sa.String(length=32), nullable=False),
        sa.Column("git_commit", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("study_runs", schema=None) as batch_op:
        batch_op.create_index("ix_study_runs_study", ["study"], unique=False)

    op.create_table(
        "study_values",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_run_id", sa.Integer(), nullable=False),
        sa.Column("key", json_type, nullable=False),
        sa.Column("metric", sa.String(length=128), nullable=False),
        sa.Column("step", sa.Integer(), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["study_run_id"], ["study_runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("study_values", schema=None) as batch_op:
        batch_op.create_index("ix_study_values_metric", ["study_run_id", "metric"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("study_values", schema=None) as batch_op:
        batch_op.drop_index("ix_study_values_metric")
    op.drop_table("study_values")
    with op.batch_alter_table("study_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_study_runs_study")
    op.drop_table("study_runs")
