"""Tables for: the scheduler's lock (scheduled jobs, docs/jobs.md). The run history's job columns are on
`runs` in `punchbridge.store.schema`.

Declared on the shared `metadata` of `punchbridge.store.schema` (which imports this module), and
created by their own migration (0005; 0007 added `command` and `pid_namespace`).

`scheduler_lock` has one row per lock name (`scheduler`), with the columns of every lock table
(`punchbridge.store.schema.locks`): who holds it, since when, and its last heartbeat. On SQLite the
row *is* the lock (a row whose heartbeat is older than the stale limit may be taken over); on
PostgreSQL a session advisory lock is the lock and the row only says who holds it.
"""

from __future__ import annotations

from punchbridge.store.schema.locks import lock_table

__all__ = ["scheduler_lock"]

scheduler_lock = lock_table("scheduler_lock")
