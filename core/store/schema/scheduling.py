"""Tables for: the scheduler's lock (scheduled jobs, docs/jobs.md). The run history's job columns are on
`runs` in `punchbridge.store.schema`.

Declared on the shared `metadata` of `punchbridge.store.schema` (which imports this module), and
created by their own migration (0005).

`scheduler_lock` has one row per lock name (`scheduler`): who holds it (a token unique to the
holding process, its host and pid), since when, and its last heartbeat. On SQLite the row *is* the
lock (a row whose heartbeat is older than the stale limit may be taken over); on PostgreSQL a
session advisory lock is the lock and the row only says who holds it.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, Table, Text

from punchbridge.store.schema.base import key_type as _key
from punchbridge.store.schema.base import metadata

__all__ = ["scheduler_lock"]

scheduler_lock = Table(
    "scheduler_lock",
    metadata,
    Column("name", _key(), primary_key=True),
    Column("holder", Text, nullable=False),
    Column("host", Text, nullable=False),
    Column("pid", Integer, nullable=False),
    Column("acquired_at_ns", BigInteger, nullable=False),
    Column("heartbeat_at_ns", BigInteger, nullable=False),
)
