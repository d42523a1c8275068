"""The scheduler's lock and the run history (scheduled jobs, issue 8).

`Store` inherits `SchedulingStore`; its methods use `self._transaction(write=...)` like the rest of the store.
"""

from __future__ import annotations

__all__ = ["SchedulingStore"]


class SchedulingStore:
    """Store methods for this feature (mixed into `Store`)."""
