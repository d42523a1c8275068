"""The initial store: punches, quarantine, processed days, ledger, batches, dead letters, cursors, runs, audit.

Revision ID: 0001
Revises:
Create Date: 2025-03-01

A frozen copy of the schema as it was first shipped (do not import `punchbridge.store.schema` here:
later migrations change that module, this step must keep building the same tables).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _key() -> sa.types.TypeEngine[str]:
    return sa.Text().with_variant(postgresql.TEXT(collation="C"), "postgresql")


def _ns(name: str, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "punches",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        sa.Column("employee_id", _key(), nullable=False),
        sa.Column("instant_ns", sa.BigInteger(), nullable=False),
        sa.Column("device_id", _key(), nullable=False),
        sa.Column("direction", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        _ns("ingested_at_ns"),
        sa.PrimaryKeyConstraint("id", name="pk_punches"),
        sa.UniqueConstraint(
            "employee_id", "instant_ns", "device_id", name="uq_punches_employee_id_instant_ns_device_id"
        ),
    )
    op.create_index("ix_punches_instant_ns", "punches", ["instant_ns"])

    op.create_table(
        "quarantine",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("line", sa.BigInteger(), nullable=True),
        sa.Column("employee_id", sa.Text(), nullable=True),
        sa.Column("timestamp", sa.Text(), nullable=True),
        sa.Column("device_id", sa.Text(), nullable=True),
        sa.Column("direction", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        _ns("created_at_ns"),
        sa.PrimaryKeyConstraint("id", name="pk_quarantine"),
    )
    op.create_index("ix_quarantine_reason", "quarantine", ["reason"])

    op.create_table(
        "processed_days",
        sa.Column("employee_id", _key(), nullable=False),
        sa.Column("work_date", _key(), nullable=False),
        sa.Column("site", sa.Text(), nullable=True),
        sa.Column("shift", sa.Text(), nullable=True),
        sa.Column("day_type", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=True),
        sa.Column("first_in", sa.Text(), nullable=True),
        sa.Column("last_out", sa.Text(), nullable=True),
        sa.Column("worked_minutes", sa.BigInteger(), nullable=False),
        sa.Column("regular_minutes", sa.BigInteger(), nullable=False),
        sa.Column("ot_minutes", sa.BigInteger(), nullable=False),
        sa.Column("break_minutes", sa.BigInteger(), nullable=False),
        sa.Column("late_minutes", sa.BigInteger(), nullable=False),
        sa.Column("early_exit_minutes", sa.BigInteger(), nullable=False),
        sa.Column("leave_days", sa.Double(), nullable=False),
        sa.Column("lop_days", sa.Double(), nullable=False),
        sa.Column("punch_count", sa.BigInteger(), nullable=False),
        sa.Column("anomalies", sa.Text(), nullable=True),
        sa.Column("recomputed", sa.Boolean(), nullable=False),
        sa.Column("rules_version", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.Text(), nullable=False),
        _ns("computed_at_ns"),
        sa.PrimaryKeyConstraint("employee_id", "work_date", name="pk_processed_days"),
    )
    op.create_index("ix_processed_days_work_date", "processed_days", ["work_date"])

    op.create_table(
        "ledger",
        sa.Column("target", _key(), nullable=False),
        sa.Column("record_key", _key(), nullable=False),
        sa.Column("content_hash", sa.Text(), nullable=True),
        sa.Column("remote_id", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("batch_id", sa.BigInteger(), nullable=True),
        _ns("updated_at_ns"),
        sa.PrimaryKeyConstraint("target", "record_key", name="pk_ledger"),
        sa.CheckConstraint("status IN ('delivered', 'rejected')", name="ck_ledger_status"),
    )

    op.create_table(
        "batches",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        sa.Column("target", _key(), nullable=False),
        sa.Column("period_start", _key(), nullable=False),
        sa.Column("period_end", _key(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("columns", sa.Text(), nullable=False),
        sa.Column("records", sa.Text(), nullable=False),
        _ns("created_at_ns"),
        _ns("finished_at_ns", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_batches"),
        sa.UniqueConstraint(
            "target", "period_start", "period_end", "seq", name="uq_batches_target_period_start_period_end_seq"
        ),
        sa.CheckConstraint("status IN ('open', 'done', 'dropped')", name="ck_batches_status"),
    )
    op.create_index("ix_batches_target_status", "batches", ["target", "status"])

    op.create_table(
        "dead_letters",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        sa.Column("target", _key(), nullable=False),
        sa.Column("record_key", _key(), nullable=False),
        sa.Column("content_hash", sa.Text(), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.BigInteger(), nullable=True),
        _ns("created_at_ns"),
        sa.PrimaryKeyConstraint("id", name="pk_dead_letters"),
        sa.UniqueConstraint("target", "record_key", name="uq_dead_letters_target_record_key"),
    )

    op.create_table(
        "cursors",
        sa.Column("name", _key(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        _ns("updated_at_ns"),
        sa.PrimaryKeyConstraint("name", name="pk_cursors"),
    )

    op.create_table(
        "runs",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("target", sa.Text(), nullable=True),
        _ns("started_at_ns"),
        _ns("finished_at_ns", nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
        sa.CheckConstraint("status IN ('running', 'ok', 'failed', 'partial')", name="ck_runs_status"),
    )
    op.create_index("ix_runs_kind_status", "runs", ["kind", "status"])

    op.create_table(
        "audit",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        _ns("at_ns"),
        sa.Column("event", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit"),
    )


def downgrade() -> None:
    for table in (
        "audit",
        "runs",
        "cursors",
        "dead_letters",
        "batches",
        "ledger",
        "processed_days",
        "quarantine",
        "punches",
    ):
        op.drop_table(table)
