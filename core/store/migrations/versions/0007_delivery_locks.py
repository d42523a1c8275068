"""Per-target delivery locks, and the holder's command and PID namespace on every lock row.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08

A frozen copy of the tables as first shipped (do not import `punchbridge.store.schema` here).
`delivery_locks` says which process delivers to each target (one delivery at a time per target:
docs/operations.md); `scheduler_lock` gains the same `command` and `pid_namespace` columns; `runs`
gains the status `busy` (a job that found a target's delivery lock held for longer than it waits).
As in 0005, the CHECK constraint is named `ck_runs_status` here and `ck_runs_ck_runs_status` in the
database (the naming convention Alembic runs with adds the prefix); SQLite copies the table to
change it (`batch_alter_table`, rows kept).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATUSES = "status IN ('running', 'ok', 'failed', 'partial', 'stopped', 'busy')"
_PREVIOUS_STATUSES = "status IN ('running', 'ok', 'failed', 'partial', 'stopped')"


def _key() -> sa.types.TypeEngine[str]:
    return sa.Text().with_variant(postgresql.TEXT(collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "delivery_locks",
        sa.Column("name", _key(), nullable=False),
        sa.Column("holder", sa.Text(), nullable=False),
        sa.Column("host", sa.Text(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("acquired_at_ns", sa.BigInteger(), nullable=False),
        sa.Column("heartbeat_at_ns", sa.BigInteger(), nullable=False),
        sa.Column("command", sa.Text(), nullable=True),
        sa.Column("pid_namespace", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_delivery_locks"),
    )
    with op.batch_alter_table("scheduler_lock") as batch:
        batch.add_column(sa.Column("command", sa.Text(), nullable=True))
        batch.add_column(sa.Column("pid_namespace", sa.Text(), nullable=True))
    with op.batch_alter_table("runs") as batch:
        batch.drop_constraint("ck_runs_status", type_="check")
        batch.create_check_constraint("ck_runs_status", sa.text(_STATUSES))


def downgrade() -> None:
    op.execute("UPDATE runs SET status = 'failed' WHERE status = 'busy'")
    with op.batch_alter_table("runs") as batch:
        batch.drop_constraint("ck_runs_status", type_="check")
        batch.create_check_constraint("ck_runs_status", sa.text(_PREVIOUS_STATUSES))
    with op.batch_alter_table("scheduler_lock") as batch:
        batch.drop_column("pid_namespace")
        batch.drop_column("command")
    op.drop_table("delivery_locks")
