"""Processed days and the ledger take about half the room: key stored once, hashes as bytes, times without repeats.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08

- `processed_days` and `ledger` become WITHOUT ROWID tables on SQLite: their text primary key is the
  table's own order instead of being stored a second time in an index beside a rowid.
- Their `content_hash` becomes bytes (BLOB / BYTEA): `\\x01` and the 32 bytes of a sha256 instead of
  64 hexadecimal characters, `\\x00` and the UTF-8 of any other text.
- `first_in`, `last_out` and `intervals` of a day are kept without their date and UTC offset repeated
  in every time (`punchbridge.store.compact`).
- A done or dropped batch keeps its `[{key, content_hash}]` JSON (migration 0009) zlib-compressed in
  the new `finished_records` column, and an empty `records`: about 44 bytes a record instead of 115.

Both rewrites are lossless: the store converts at its boundary, so every caller reads the same
texts as before, and `downgrade` gives back the 0009 tables with the very same values. Each table
is copied into its new form a page at a time (memory stays flat on a large store) and the old one
dropped; on PostgreSQL the tables are the same apart from the BYTEA hashes.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from punchbridge.store.compact import hash_from_stored, hash_to_stored, times_from_stored, times_to_stored

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PAGE = 5000  # rows copied at a time
_TIMES = ("first_in", "last_out", "intervals")
_DAY_KEY = ("employee_id", "work_date")
_LEDGER_KEY = ("target", "record_key")
Row = dict[str, Any]


def _key() -> sa.types.TypeEngine[str]:
    return sa.Text().with_variant(postgresql.TEXT(collation="C"), "postgresql")


def _day_columns(hash_type: sa.types.TypeEngine[Any]) -> list[sa.schema.SchemaItem]:
    ints = ("worked_minutes", "regular_minutes", "ot_minutes", "break_minutes", "late_minutes", "early_exit_minutes")
    return [
        sa.Column("employee_id", _key(), nullable=False),
        sa.Column("work_date", _key(), nullable=False),
        *(sa.Column(name, sa.Text(), nullable=True) for name in ("site", "shift", "day_type", "status")),
        sa.Column("first_in", sa.Text(), nullable=True),
        sa.Column("last_out", sa.Text(), nullable=True),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in ints),
        sa.Column("leave_days", sa.Double(), nullable=False),
        sa.Column("lop_days", sa.Double(), nullable=False),
        sa.Column("punch_count", sa.BigInteger(), nullable=False),
        sa.Column("anomalies", sa.Text(), nullable=True),
        sa.Column("recomputed", sa.Boolean(), nullable=False),
        sa.Column("rules_version", sa.Text(), nullable=True),
        sa.Column("intervals", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", hash_type, nullable=False),
        sa.Column("computed_at_ns", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("employee_id", "work_date", name="pk_processed_days"),
    ]


def _ledger_columns(hash_type: sa.types.TypeEngine[Any]) -> list[sa.schema.SchemaItem]:
    return [
        sa.Column("target", _key(), nullable=False),
        sa.Column("record_key", _key(), nullable=False),
        sa.Column("content_hash", hash_type, nullable=True),
        sa.Column("remote_id", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("batch_id", sa.BigInteger(), nullable=True),
        sa.Column("updated_at_ns", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("target", "record_key", name="pk_ledger"),
        sa.CheckConstraint("status IN ('delivered', 'rejected')", name="ck_ledger_status"),
    ]


def _compact_day(row: Row) -> Row:
    for name in _TIMES:
        row[name] = times_to_stored(row[name], row["work_date"])
    row["content_hash"] = hash_to_stored(row["content_hash"])
    return row


def _expand_day(row: Row) -> Row:
    for name in _TIMES:
        row[name] = times_from_stored(row[name], row["work_date"])
    row["content_hash"] = hash_from_stored(row["content_hash"])
    return row


def _compact_ledger(row: Row) -> Row:
    row["content_hash"] = hash_to_stored(row["content_hash"])
    return row


def _expand_ledger(row: Row) -> Row:
    row["content_hash"] = hash_from_stored(row["content_hash"])
    return row


def _rebuild(
    name: str,
    key: tuple[str, str],
    columns: list[sa.schema.SchemaItem],
    convert: Callable[[Row], Row],
    *,
    with_rowid: bool,
    index: str | None,
) -> None:
    """Copy table `name` into a new table of `columns`, converting each row, then drop the old one."""
    connection = op.get_bind()
    old = f"{name}_old"
    if index is not None:
        op.drop_index(f"ix_{name}_{index}", table_name=name)
    op.rename_table(name, old)
    if connection.dialect.name == "postgresql":  # the key's index keeps its name: free it for the new table
        op.execute(f"ALTER TABLE {old} RENAME CONSTRAINT pk_{name} TO pk_{old}")
    new = op.create_table(name, *columns, sqlite_with_rowid=with_rowid)
    source = sa.table(old, *(sa.column(c.name) for c in columns if isinstance(c, sa.Column)))
    first, second = source.c[key[0]], source.c[key[1]]
    query = sa.select(source).order_by(first, second).limit(_PAGE)
    last: tuple[Any, Any] | None = None
    while True:
        page = query if last is None else query.where(sa.tuple_(first, second) > sa.tuple_(*last))
        rows = connection.execute(page).mappings().all()
        if not rows:
            break
        connection.execute(sa.insert(new), [convert(dict(row)) for row in rows])
        last = (rows[-1][key[0]], rows[-1][key[1]])
    op.drop_table(old)
    if index is not None:
        op.create_index(f"ix_{name}_{index}", name, [index])


_BATCHES = sa.table(
    "batches",
    sa.column("id", sa.Integer),
    sa.column("status", sa.Text),
    sa.column("records", sa.Text),
    sa.column("finished_records", sa.LargeBinary),
)


def _rewrite_finished_batches(rewrite: Callable[[Row], Row]) -> None:
    """Apply `rewrite` to every done or dropped batch's (records, finished_records), a page at a time."""
    connection = op.get_bind()
    finished = _BATCHES.c.status.in_(("done", "dropped"))
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(_BATCHES.c.id, _BATCHES.c.records, _BATCHES.c.finished_records)
            .where(finished, _BATCHES.c.id > last_id)
            .order_by(_BATCHES.c.id)
            .limit(500)
        ).mappings()
        page = [rewrite(dict(row)) for row in rows]
        if not page:
            return
        connection.execute(
            sa.update(_BATCHES).where(_BATCHES.c.id == sa.bindparam("batch_id")),
            [
                {"batch_id": row["id"], "records": row["records"], "finished_records": row["finished_records"]}
                for row in page
            ],
        )
        last_id = page[-1]["id"]


def _compress_batch(row: Row) -> Row:
    return {"id": row["id"], "records": "", "finished_records": zlib.compress(row["records"].encode("utf-8"))}


def _expand_batch(row: Row) -> Row:
    if row["finished_records"] is None:  # not written by this revision's code: nothing to expand
        return row
    records = zlib.decompress(bytes(row["finished_records"])).decode("utf-8")
    return {"id": row["id"], "records": records, "finished_records": None}


def upgrade() -> None:
    days, ledger = _day_columns(sa.LargeBinary()), _ledger_columns(sa.LargeBinary())
    _rebuild("processed_days", _DAY_KEY, days, _compact_day, with_rowid=False, index="work_date")
    _rebuild("ledger", _LEDGER_KEY, ledger, _compact_ledger, with_rowid=False, index=None)
    op.add_column("batches", sa.Column("finished_records", sa.LargeBinary(), nullable=True))
    _rewrite_finished_batches(_compress_batch)


def downgrade() -> None:
    _rebuild("processed_days", _DAY_KEY, _day_columns(sa.Text()), _expand_day, with_rowid=True, index="work_date")
    _rebuild("ledger", _LEDGER_KEY, _ledger_columns(sa.Text()), _expand_ledger, with_rowid=True, index=None)
    _rewrite_finished_batches(_expand_batch)
    op.drop_column("batches", "finished_records")
