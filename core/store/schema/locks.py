"""Tables for: process locks kept in the store (the scheduler's, and one per delivery target; docs/operations.md).

Declared on the shared `metadata` of `punchbridge.store.schema` (which imports this module).
`scheduler_lock` was created by migration 0005 (its `command` and `pid_namespace` columns by 0007);
`delivery_locks` by migration 0007.

Both have one row per lock name (`scheduler`; a target's name): who holds it (a token unique to the
holding lock object, the host, pid, command line and PID namespace of its process), since when, and
its last heartbeat. On SQLite the row *is* the lock (a row whose heartbeat is older than the stale
limit, or whose process is gone, may be taken over); on PostgreSQL a session advisory lock is the
lock and the row only says who holds it. `punchbridge.store.locks` reads and writes them.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, Table, Text

from punchbridge.store.schema.base import key_type as _key
from punchbridge.store.schema.base import metadata

__all__ = ["delivery_locks", "lock_table"]


def lock_table(name: str) -> Table:
    """A lock table `name` on the shared metadata: every lock table has these columns."""
    return Table(
        name,
        metadata,
        Column("name", _key(), primary_key=True),
        Column("holder", Text, nullable=False),
        Column("host", Text, nullable=False),
        Column("pid", Integer, nullable=False),
        Column("acquired_at_ns", BigInteger, nullable=False),
        Column("heartbeat_at_ns", BigInteger, nullable=False),
        # migration 0007: the holder's command line (for the refusal message) and, on Linux, its PID
        # namespace, so a process on the same host can tell that the holder's pid is gone.
        Column("command", Text, nullable=True),
        Column("pid_namespace", Text, nullable=True),
    )


#: One row per target being delivered to (`punchbridge.sync.delivery`).
delivery_locks = lock_table("delivery_locks")
