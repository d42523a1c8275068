"""What each terminal holds and the device-command journal (employee sync, issue 7).

`Store` inherits `TerminalStore`; its methods use `self._transaction(write=...)` like the rest of the store.
"""

from __future__ import annotations

__all__ = ["TerminalStore"]


class TerminalStore:
    """Store methods for this feature (mixed into `Store`)."""
