"""The body of a quarantined push: `quarantine.raw` and `quarantine.raw_digest`.

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-08

The receiver acknowledges an authenticated push whose content cannot be used and keeps it in the
quarantine with its body (the token and health data masked), so a terminal is never stuck behind one
bad punch and an operator can see what it sent. `raw_digest` identifies the push across the
terminal's resends. Chained on 0006: 0007 (delivery locks) was not on this branch when it was written.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable columns: added in place on both databases (no table copy on SQLite).
    op.add_column("quarantine", sa.Column("raw", sa.Text(), nullable=True))
    op.add_column("quarantine", sa.Column("raw_digest", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("quarantine") as table:
        table.drop_column("raw_digest")
        table.drop_column("raw")
