"""Look-ups a quiet night needs, without pandas (`punchbridge.sync.quiet`): the store's frames are
for the engine, and a night with nothing new decides before the engine is imported."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from sqlalchemy import select

from punchbridge.store.schema import leaves

if TYPE_CHECKING:
    from punchbridge.store.store import Store

__all__ = ["received_leaves_digest"]


def received_leaves_digest(store: Store) -> str:
    """A digest of the leaves received from the cloud (`Store.leaves`: employee, date, kind, paid, in
    that order); equal exactly when the rules engine would be given the same received leaves."""
    query = select(leaves.c.employee_id, leaves.c.date, leaves.c.kind, leaves.c.paid).order_by(
        leaves.c.employee_id, leaves.c.date, leaves.c.kind
    )
    digest = hashlib.sha256()
    with store._transaction(write=False) as connection:  # the store's own package
        for employee_id, day, kind, paid in connection.execute(query):
            digest.update(f"{employee_id}|{day}|{kind}|{bool(paid)}\n".encode())
    return digest.hexdigest()
