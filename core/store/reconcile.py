"""Reconciliation's writes: marking ledger rows a target no longer holds as it should (docs/reconcile.md).

`Store` inherits `ReconcileStore`; its methods use `self._transaction(write=...)` like the rest of the store.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from sqlalchemy import Connection, update

from punchbridge.store.database import chunks, dialect_insert
from punchbridge.store.schema import cursors, ledger

__all__ = ["DELIVERY_CURSOR", "MAX_NOTE", "ReconcileStore"]

#: The sync engine's per-target delivery cursor (`punchbridge.sync`): anything but "clean" makes the
#: next sync look at every stored day of its range instead of only the days that changed.
DELIVERY_CURSOR = "deliver:{target}"
#: The longest note kept in `last_error` (a longer one is cut).
MAX_NOTE = 500


class ReconcileStore:
    """Store methods for this feature (mixed into `Store`)."""

    if TYPE_CHECKING:

        def _transaction(self, *, write: bool) -> AbstractContextManager[Connection]: ...

    def mark_not_held(self, target: str, keys: Collection[str], note: str) -> int:
        """Record that `target` does not hold these records as the ledger says; returns how many rows changed.

        Each ledger row of `keys` keeps its status and remote id, loses its content hash (so the next
        sync sees the record as changed and resends it, flagged `recomputed` where it was delivered)
        and gets `note` as `last_error` until that resend. The target's delivery cursor is set dirty
        in the same transaction, so that sync considers every stored day of its range. Keys without a
        ledger row are left alone: a sync sends them anyway. ValueError (nothing written) for an empty
        target name or a key that is not text.
        """
        if not isinstance(target, str) or not target.strip():
            raise ValueError("mark_not_held: the target name is empty")
        given = list(keys)
        for key in given:
            if not isinstance(key, str) or not key:
                raise ValueError(f"mark_not_held: record key {key!r} is not text")
        wanted = sorted(set(given))
        text = str(note)[:MAX_NOTE]
        now = time.time_ns()
        marked = 0
        with self._transaction(write=True) as connection:
            for part in chunks(len(wanted), 2000):
                statement = (
                    update(ledger)
                    .where(ledger.c.target == target, ledger.c.record_key.in_(wanted[part]))
                    .values(content_hash=None, last_error=text, updated_at_ns=now)
                )
                marked += connection.execute(statement).rowcount
            name = DELIVERY_CURSOR.format(target=target)
            insert = dialect_insert(connection, cursors).values(name=name, value="dirty", updated_at_ns=now)
            connection.execute(
                insert.on_conflict_do_update(index_elements=["name"], set_={"value": "dirty", "updated_at_ns": now})
            )
        return marked
