"""Period locks, adjustments, retention purges, erasure and tombstones (issue 8).

`Store` inherits `RetentionStore`; its methods use `self._transaction(write=...)` like the rest of the store.
"""

from __future__ import annotations

__all__ = ["RetentionStore"]


class RetentionStore:
    """Store methods for this feature (mixed into `Store`)."""
