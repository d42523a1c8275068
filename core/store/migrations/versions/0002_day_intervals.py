"""Processed days keep their worked intervals, for targets that take intervals or every punch pair.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

`intervals` is text: the day's worked intervals as `start/end` in local ISO-8601, separated by `;`
(an open interval is `start/`). Days stored before this step hold NULL until they are recomputed;
the recomputed day then differs from the stored one, but a target's record changes (and is sent
again) only if its mapping has a column `from: intervals`.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("processed_days", sa.Column("intervals", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("processed_days") as batch:
        batch.drop_column("intervals")
