"""resumable, fenced runs: owners, checkpoints, attempts; types that work on PostgreSQL

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30

- runs: the owner of the current attempt (token, pid, process start time, boot id, worker, Slurm
  job) for fencing and for taking over a dead worker's run at once; the last consistent
  checkpoint and its epoch; the epoch a run resumed from; a stop request; ``note`` for what a
  FINISHED run reports (divergence), which 0001 kept in ``error`` — moved there.
- epoch_metrics: the attempt that wrote each row (1 for rows written before this revision).
- run_attempts: one row per claim of a run, with its provenance (the current attempt of every
  existing run is copied there).
- split widened to 32 and selection_rule to 64 characters (PostgreSQL enforces widths); JSON
  columns become JSONB on PostgreSQL.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON_COLUMNS = {
    "runs": ("config", "data_provenance", "task_metrics"),
    "baselines": ("source_run_keys",),
}


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    json_type = postgresql.JSONB() if postgres else sa.JSON()
    if postgres:
        for table, columns in JSON_COLUMNS.items():
            for column in columns:
                op.alter_column(table, column, type_=json_type, postgresql_using=f"{column}::jsonb")

    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner_token", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("note", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("checkpoint_path", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("checkpoint_epoch", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("resumed_from_epoch", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("stop_requested", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("pid", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("process_started", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("boot_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("worker", json_type, nullable=True))
        batch_op.add_column(sa.Column("slurm_job_id", sa.String(length=64), nullable=True))
        batch_op.alter_column(
            "selection_rule",
            existing_type=sa.String(length=32),
            type_=sa.String(length=64),
            existing_nullable=True,
        )
    with op.batch_alter_table("epoch_metrics", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attempt", sa.Integer(), nullable=True))
        batch_op.alter_column(
            "split",
            existing_type=sa.String(length=8),
            type_=sa.String(length=32),
            existing_nullable=False,
        )
    with op.batch_alter_table("baselines", schema=None) as batch_op:
        batch_op.alter_column(
            "split",
            existing_type=sa.String(length=8),
            type_=sa.String(length=32),
            existing_nullable=False,
        )

    op.create_table(
        "run_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("resumed_from_epoch", sa.Integer(), nullable=True),
        sa.Column("epochs_completed", sa.Integer(), nullable=True),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("device", sa.String(length=255), nullable=False),
        sa.Column("python_version", sa.String(length=32), nullable=False),
        sa.Column("torch_version", sa.String(length=64), nullable=False),
        sa.Column("mtlx_version", sa.String(length=32), nullable=False),
        sa.Column("git_commit", sa.String(length=64), nullable=True),
        sa.Column("worker", json_type, nullable=True),
        sa.Column("slurm_job_id", sa.String(length=64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id", "attempt", name="uq_run_attempt"),
    )

    # existing data: every epoch row was written by its run's attempt 1 or a retry that deleted
    # the older ones, i.e. by the current attempt; a FINISHED run's error was its note
    op.execute(
        "UPDATE epoch_metrics SET attempt = "
        "(SELECT runs.attempt FROM runs WHERE runs.id = epoch_metrics.run_id)"
    )
    op.execute("UPDATE runs SET note = error, error = NULL WHERE status = 'FINISHED'")
    op.execute(
        "INSERT INTO run_attempts (run_id, attempt, reason, status, started_at, ended_at, "
        "epochs_completed, host, device, python_version, torch_version, mtlx_version, "
        "git_commit, error) "
        "SELECT id, attempt, 'recorded before attempts were kept', status, started_at, "
        "finished_at, epochs_completed, host, device, python_version, torch_version, "
        "mtlx_version, git_commit, error FROM runs"
    )


def downgrade() -> None:
    op.execute("UPDATE runs SET error = note WHERE status = 'FINISHED' AND note IS NOT NULL")
    op.drop_table("run_attempts")
    with op.batch_alter_table("baselines", schema=None) as batch_op:
        batch_op.alter_column(
            "split", existing_type=sa.String(length=32), type_=sa.String(length=8)
        )
    with op.batch_alter_table("epoch_metrics", schema=None) as batch_op:
        batch_op.alter_column(
            "split", existing_type=sa.String(length=32), type_=sa.String(length=8)
        )
        batch_op.drop_column("attempt")
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.alter_column(
            "selection_rule", existing_type=sa.String(length=64), type_=sa.String(length=32)
        )
        for column in (
            "slurm_job_id",
            "worker",
            "boot_id",
            "process_started",
            "pid",
            "stop_requested",
            "resumed_from_epoch",
            "checkpoint_epoch",
            "checkpoint_path",
            "note",
            "owner_token",
        ):
            batch_op.drop_column(column)
    if op.get_bind().dialect.name == "postgresql":
        for table, columns in JSON_COLUMNS.items():
            for column in columns:
                op.alter_column(table, column, type_=sa.JSON(), postgresql_using=f"{column}::json")
