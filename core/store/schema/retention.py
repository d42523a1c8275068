"""Tables of the payroll cut-off and of erasure (migration 0006).

Declared on the shared `metadata` (`punchbridge.store.schema.base`) and created by their own migration.

- `adjustments`: one row per correction of a day of a locked period (docs/cutoff.md). The key is
  the employee, the work date and the correction's number (`seq`, 1, 2, ...), so the same late punch
  seen again adds nothing. `before` and `after` are the day's values (JSON) as the period closed with
  them (or as the previous adjustment left them) and as computed now; `after_hash` is the content
  hash of the new day; `posting_period` the open period (`YYYY-MM`) it is delivered in.
- `tombstones`: one row per erased employee: a keyed hash of the id (HMAC-SHA256 with the secret in
  `erasure_keys`), never the id itself, and the instant of the erasure.
- `erasure_keys`: the store's single HMAC secret for tombstones (row id 1), made at the first erasure.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, Table, Text

from punchbridge.store.schema.base import key_type as _key
from punchbridge.store.schema.base import metadata

__all__ = ["adjustments", "erasure_keys", "tombstones"]

adjustments = Table(
    "adjustments",
    metadata,
    Column("employee_id", _key(), primary_key=True),
    Column("work_date", _key(), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("site", Text, nullable=True),
    Column("posting_period", _key(), nullable=False),
    Column("before", Text, nullable=False),
    Column("after", Text, nullable=False),
    Column("after_hash", Text, nullable=False),
    Column("created_at_ns", BigInteger, nullable=False),
    Index(None, "posting_period"),
)

tombstones = Table(
    "tombstones",
    metadata,
    Column("employee_hash", _key(), primary_key=True),
    Column("erased_at_ns", BigInteger, nullable=False),
)

erasure_keys = Table(
    "erasure_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("secret", Text, nullable=False),
    Column("created_at_ns", BigInteger, nullable=False),
)
