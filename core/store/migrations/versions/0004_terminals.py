"""What each terminal holds and the device-command journal (employee sync).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22

A frozen copy of the tables as first shipped (do not import `punchbridge.store.schema` here).
`terminal_users` is the ledger of what punchbridge made each terminal hold; `terminal_commands` the
journal of device commands, recorded before they are sent (see `store.schema.terminals`).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _key() -> sa.types.TypeEngine[str]:
    return sa.Text().with_variant(postgresql.TEXT(collation="C"), "postgresql")


def upgrade() -> None:
    """Create `terminal_users` and `terminal_commands`."""
    op.create_table(
        "terminal_users",
        sa.Column("stgid", _key(), nullable=False),
        sa.Column("user_id", _key(), nullable=False),
        sa.Column("present", sa.Boolean(), nullable=False),
        sa.Column("employee_ref", sa.Text(), nullable=True),
        sa.Column("profile_hash", sa.Text(), nullable=True),
        sa.Column("user_type", sa.Text(), nullable=True),
        sa.Column("access_start", sa.Text(), nullable=True),
        sa.Column("access_end", sa.Text(), nullable=True),
        sa.Column("access_days", sa.Text(), nullable=True),
        sa.Column("face_ref", sa.Text(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("lineage", sa.Text(), nullable=False),
        sa.Column("updated_at_ns", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("stgid", "user_id", name="pk_terminal_users"),
    )

    op.create_table(
        "terminal_commands",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.BigInteger(), nullable=True),
        sa.Column("stgid", _key(), nullable=False),
        sa.Column("user_id", _key(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("lineage", sa.Text(), nullable=False),
        sa.Column("operation_id", sa.Text(), nullable=False),
        sa.Column("command", sa.Text(), nullable=True),
        sa.Column("effect", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at_ns", sa.BigInteger(), nullable=False),
        sa.Column("finished_at_ns", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_terminal_commands"),
        sa.CheckConstraint(
            "action IN ('add', 'profile', 'access', 'enrol', 'delete')", name="ck_terminal_commands_action"
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'done', 'failed', 'skipped', 'abandoned')", name="ck_terminal_commands_status"
        ),
    )
    op.create_index("ix_terminal_commands_status", "terminal_commands", ["status"])
    op.create_index("ix_terminal_commands_stgid_user_id", "terminal_commands", ["stgid", "user_id"])


def downgrade() -> None:
    """Drop the tables."""
    op.drop_table("terminal_commands")
    op.drop_table("terminal_users")
