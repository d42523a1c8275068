"""Tables for: What each terminal holds and the device-command journal (employee sync, issue 7).

Declared on the shared `metadata` of `punchbridge.store.schema` (which imports this module), and
created by their own migration.
"""

from __future__ import annotations

__all__: list[str] = []
