"""Finished batches keep only the key and content hash of each record.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

A batch that is done or dropped is never sent again (only an open batch is resumed after a crash,
from its stored records); the ledger says what each target holds. Until now every batch kept a JSON
copy of every record's fields, which made `batches` about as large as `punches`. This rewrites the
`records` of done and dropped batches to `[{"key": ..., "content_hash": ...}]`, in batch order; open
batches are left as they are. No schema change. The fields cannot be brought back: downgrade leaves
the rows as they are.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCHES = sa.table("batches", sa.column("id", sa.Integer), sa.column("status", sa.Text), sa.column("records", sa.Text))
_PAGE = 500  # batches read and rewritten at a time: memory stays flat on a large store


def _keys_and_hashes(stored: str) -> str:
    kept = [{"key": r["key"], "content_hash": r["content_hash"]} for r in json.loads(stored)]
    return json.dumps(kept, ensure_ascii=False, separators=(",", ":"))


def upgrade() -> None:
    connection = op.get_bind()
    finished = _BATCHES.c.status.in_(("done", "dropped"))
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(_BATCHES.c.id, _BATCHES.c.records)
            .where(finished, _BATCHES.c.id > last_id)
            .order_by(_BATCHES.c.id)
            .limit(_PAGE)
        ).all()
        if not rows:
            return
        connection.execute(
            sa.update(_BATCHES).where(_BATCHES.c.id == sa.bindparam("batch_id")),
            [{"batch_id": row.id, "records": _keys_and_hashes(row.records)} for row in rows],
        )
        last_id = rows[-1].id


def downgrade() -> None:
    pass  # the fields of finished batches are gone; their keys and hashes stay valid for 0008
