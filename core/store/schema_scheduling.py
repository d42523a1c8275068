"""Tables for: The scheduler's lock and the run history (scheduled jobs, issue 8).

Declared on the shared `metadata` of `punchbridge.store.schema` (which imports this module), and
created by their own migration.
"""

from __future__ import annotations

__all__: list[str] = []
