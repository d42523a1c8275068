"""What each terminal holds and the device-command journal (employee sync).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22

A frozen copy of the tables as first shipped (do not import `punchbridge.store.schema` here).
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing yet."""


def downgrade() -> None:
    """Nothing yet."""
