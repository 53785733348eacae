"""imported results: published or external numbers kept apart from trained runs

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    json_type = postgresql.JSONB() if op.get_bind().dialect.name == "postgresql" else sa.JSON()
    op.create_table(
        "result_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=256), nullable=False),
        sa.Column("file_name", sa.String(length=512), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("baseline", sa.Boolean(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "imported_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("result_key", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=256), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("dataset", sa.String(length=64), nullable=False),
        sa.Column("network", sa.String(length=64), nullable=False),
        sa.Column("tasks", sa.String(length=512), nullable=False),
        sa.Column("method", sa.String(length=64), nullable=False),
        sa.Column("optimizer", sa.String(length=64), nullable=False),
        sa.Column("lr", sa.Float(), nullable=True),
        sa.Column("seed", sa.Integer(), nullable=True),
        sa.Column("metrics", json_type, nullable=False),
        sa.ForeignKeyConstraint(["import_id"], ["result_imports.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("result_key"),
    )
    with op.batch_alter_table("imported_results", schema=None) as batch_op:
        batch_op.create_index(
            "ix_imported_results_setup", ["dataset", "network", "kind"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("imported_results", schema=None) as batch_op:
        batch_op.drop_index("ix_imported_results_setup")
    op.drop_table("imported_results")
    op.drop_table("result_imports")
