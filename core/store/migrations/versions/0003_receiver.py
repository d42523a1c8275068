"""The receiver's tables: webhook event ids (replay protection), leaves, period locks, cloud events.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

A frozen copy of the tables as first shipped (do not import `punchbridge.store.schema` here).
`webhook_events` holds the id of every webhook event applied, for at least the replay window
(`receiver.replay_window_hours`); `leaves` and `period_locks` hold what `leave.approved` and
`payroll.cutoff.locked` said; `cloud_events` keeps payloads kept for later use.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _key() -> sa.types.TypeEngine[str]:
    return sa.Text().with_variant(postgresql.TEXT(collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "webhook_events",
        sa.Column("event_id", _key(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("scheme", sa.Text(), nullable=False),
        sa.Column("received_at_ns", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_webhook_events"),
    )
    op.create_index("ix_webhook_events_received_at_ns", "webhook_events", ["received_at_ns"])

    op.create_table(
        "leaves",
        sa.Column("employee_id", _key(), nullable=False),
        sa.Column("date", _key(), nullable=False),
        sa.Column("kind", _key(), nullable=False),
        sa.Column("paid", sa.Boolean(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("received_at_ns", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("employee_id", "date", "kind", name="pk_leaves"),
        sa.CheckConstraint("kind IN ('full', 'first_half', 'second_half')", name="ck_leaves_kind"),
    )

    op.create_table(
        "period_locks",
        sa.Column("site", _key(), nullable=False),
        sa.Column("period", _key(), nullable=False),
        sa.Column("locked_at", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("received_at_ns", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("site", "period", name="pk_period_locks"),
    )

    op.create_table(
        "cloud_events",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        sa.Column("event_id", _key(), nullable=False),
        sa.Column("event_type", _key(), nullable=False),
        sa.Column("created_at", sa.Text(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_at_ns", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cloud_events"),
        sa.UniqueConstraint("event_id", name="uq_cloud_events_event_id"),
    )
    op.create_index("ix_cloud_events_event_type", "cloud_events", ["event_type"])


def downgrade() -> None:
    for table in ("cloud_events", "period_locks", "leaves", "webhook_events"):
        op.drop_table(table)
