"""Tables for: Period locks, adjustments, retention purges, erasure and tombstones (issue 8).

Declared on the shared `metadata` of `punchbridge.store.schema` (which imports this module), and
created by their own migration.
"""

from __future__ import annotations

__all__: list[str] = []
