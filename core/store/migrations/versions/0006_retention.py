"""Adjustments for locked periods, and tombstones of erased employees.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22

A frozen copy of the tables as first shipped (do not import `punchbridge.store.schema` here).
`adjustments` holds the corrections of days of locked payroll periods, delivered in the next open
period; `tombstones` the keyed hashes of erased employees' ids, so a re-sent punch is not stored
again; `erasure_keys` the store's HMAC secret for those hashes.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _key() -> sa.types.TypeEngine[str]:
    return sa.Text().with_variant(postgresql.TEXT(collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "adjustments",
        sa.Column("employee_id", _key(), nullable=False),
        sa.Column("work_date", _key(), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("site", sa.Text(), nullable=True),
        sa.Column("posting_period", _key(), nullable=False),
        sa.Column("before", sa.Text(), nullable=False),
        sa.Column("after", sa.Text(), nullable=False),
        sa.Column("after_hash", sa.Text(), nullable=False),
        sa.Column("created_at_ns", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("employee_id", "work_date", "seq", name="pk_adjustments"),
    )
    op.create_index("ix_adjustments_posting_period", "adjustments", ["posting_period"])

    op.create_table(
        "tombstones",
        sa.Column("employee_hash", _key(), nullable=False),
        sa.Column("erased_at_ns", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("employee_hash", name="pk_tombstones"),
    )

    op.create_table(
        "erasure_keys",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("created_at_ns", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_erasure_keys"),
    )


def downgrade() -> None:
    for table in ("erasure_keys", "tombstones", "adjustments"):
        op.drop_table(table)
