"""Adjustments for locked periods, and tombstones of erased employees.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22

A frozen copy of the tables as first shipped (do not import `punchbridge.store.schema` here).
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing yet."""


def downgrade() -> None:
    """Nothing yet."""
