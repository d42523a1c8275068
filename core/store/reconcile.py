"""Reconciliation's writes: marking ledger rows a target no longer holds as it should (issue 8).

`Store` inherits `ReconcileStore`; its methods use `self._transaction(write=...)` like the rest of the store.
"""

from __future__ import annotations

__all__ = ["ReconcileStore"]


class ReconcileStore:
    """Store methods for this feature (mixed into `Store`)."""
