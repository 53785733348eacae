"""epoch metrics keyed by what they are; runs indexed by status and setup

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30

- epoch_metrics: the surrogate ``id`` goes, and the unique (run_id, epoch, split, metric)
  becomes the primary key. On SQLite the table is stored ``WITHOUT ROWID``, clustered by that
  key: the metrics of one run's epoch and split lie together in the table itself, so reading the
  selected epoch of 100,000 runs takes one seek per run instead of one per metric plus one per
  row, and the file loses the separate unique index (a third of its size).
- runs: the index on ``status`` becomes one on (status, kind, dataset, network, baseline_key,
  tasks). Status look-ups use its first column as before; the analyses find the finished runs of
  one setup in it, without visiting the runs of every other setup.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

KEY = ("run_id", "epoch", "split", "metric")
COLUMNS = "run_id, epoch, split, metric, value, attempt"


def _metric_columns() -> list[sa.Column]:
    return [
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("split", sa.String(length=32), nullable=False),
        sa.Column("metric", sa.String(length=128), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=True),
    ]


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


SETUP_INDEX = ("status", "kind", "dataset", "network", "baseline_key", "tasks")


def upgrade() -> None:
    op.drop_index("ix_runs_status", table_name="runs")
    op.create_index("ix_runs_status_setup", "runs", list(SETUP_INDEX))
    if _postgres():
        op.drop_constraint("uq_epoch_metric", "epoch_metrics", type_="unique")
        op.drop_constraint("epoch_metrics_pkey", "epoch_metrics", type_="primary")
        op.drop_column("epoch_metrics", "id")
        op.create_primary_key("epoch_metrics_pkey", "epoch_metrics", list(KEY))
        return
    # SQLite cannot change a table's primary key or storage in place: copy it in key order
    op.create_table(
        "epoch_metrics_by_key",
        *_metric_columns(),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint(*KEY),
        sqlite_with_rowid=False,
    )
    op.execute(
        f"INSERT INTO epoch_metrics_by_key ({COLUMNS}) SELECT {COLUMNS} FROM epoch_metrics "
        "ORDER BY run_id, epoch, split, metric"
    )
    op.drop_table("epoch_metrics")
    op.rename_table("epoch_metrics_by_key", "epoch_metrics")


def downgrade() -> None:
    op.drop_index("ix_runs_status_setup", table_name="runs")
    op.create_index("ix_runs_status", "runs", ["status"])
    if _postgres():
        op.drop_constraint("epoch_metrics_pkey", "epoch_metrics", type_="primary")
        op.add_column("epoch_metrics", sa.Column("id", sa.Integer(), sa.Identity(), nullable=False))
        op.create_primary_key("epoch_metrics_pkey", "epoch_metrics", ["id"])
        op.create_unique_constraint("uq_epoch_metric", "epoch_metrics", list(KEY))
        return
    op.create_table(
        "epoch_metrics_with_id",
        sa.Column("id", sa.Integer(), nullable=False),
        *_metric_columns(),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(*KEY, name="uq_epoch_metric"),
    )
    op.execute(
        f"INSERT INTO epoch_metrics_with_id ({COLUMNS}) SELECT {COLUMNS} FROM epoch_metrics "
        "ORDER BY run_id, epoch, split, metric"
    )
    op.drop_table("epoch_metrics")
    op.rename_table("epoch_metrics_with_id", "epoch_metrics")
