"""The scheduler lock and the run history's job columns.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22

A frozen copy of the tables as first shipped (do not import `punchbridge.store.schema` here).
`scheduler_lock` says which process runs the scheduled jobs of the store; `runs` gains `job`,
`started_by`, `scheduled_at_ns` and `error`, and the status `stopped` (a run asked to stop that
finished its batch). SQLite cannot change a CHECK constraint in place: `batch_alter_table` copies
the table (its rows kept). The constraint is named `ck_runs_status` here, as in 0001: the naming
convention of the metadata Alembic runs with makes it `ck_runs_ck_runs_status` in the database, the
name 0001 gave it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATUSES = "status IN ('running', 'ok', 'failed', 'partial', 'stopped')"
_FIRST_STATUSES = "status IN ('running', 'ok', 'failed', 'partial')"


def _key() -> sa.types.TypeEngine[str]:
    return sa.Text().with_variant(postgresql.TEXT(collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "scheduler_lock",
        sa.Column("name", _key(), nullable=False),
        sa.Column("holder", sa.Text(), nullable=False),
        sa.Column("host", sa.Text(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("acquired_at_ns", sa.BigInteger(), nullable=False),
        sa.Column("heartbeat_at_ns", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_scheduler_lock"),
    )
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("job", sa.Text(), nullable=True))
        batch.add_column(sa.Column("started_by", sa.Text(), nullable=True))
        batch.add_column(sa.Column("scheduled_at_ns", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("error", sa.Text(), nullable=True))
        batch.drop_constraint("ck_runs_status", type_="check")
        batch.create_check_constraint("ck_runs_status", sa.text(_STATUSES))
    op.create_index("ix_runs_job", "runs", ["job"])


def downgrade() -> None:
    op.drop_index("ix_runs_job", table_name="runs")
    op.execute("UPDATE runs SET status = 'partial' WHERE status = 'stopped'")
    with op.batch_alter_table("runs") as batch:
        batch.drop_constraint("ck_runs_status", type_="check")
        batch.create_check_constraint("ck_runs_status", sa.text(_FIRST_STATUSES))
        for column in ("error", "scheduled_at_ns", "started_by", "job"):
            batch.drop_column(column)
    op.drop_table("scheduler_lock")
