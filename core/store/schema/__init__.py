"""The store's tables (SQLAlchemy Core), all on one `metadata`. docs/store.md describes them.

This package is the schema the code reads and writes; `migrations/versions/` holds the frozen steps
that build it (a test checks that the migrated database equals this metadata on both dialects).
Modules: `base` (the metadata and shared column types), `core` (punches, days, ledger, batches,
runs, the receiver's tables), `terminals` (employee sync), `scheduling` (the scheduler lock), `locks`
(the per-target delivery locks, and the columns of every lock table) and `retention` (cut-off
adjustments and erasure).
"""

from punchbridge.store.schema.base import NAMING_CONVENTION, id_type, key_type, metadata, one_of
from punchbridge.store.schema.core import (
    BATCH_STATUSES,
    DAY_BOOL_COLUMNS,
    DAY_FLOAT_COLUMNS,
    DAY_INT_COLUMNS,
    DAY_TEXT_COLUMNS,
    LEAVE_KINDS,
    LEDGER_STATUSES,
    RUN_STATUSES,
    audit,
    batches,
    cloud_events,
    cursors,
    dead_letters,
    leaves,
    ledger,
    period_locks,
    processed_days,
    punches,
    quarantine,
    runs,
    webhook_events,
)
from punchbridge.store.schema.locks import delivery_locks
from punchbridge.store.schema.retention import adjustments, erasure_keys, tombstones
from punchbridge.store.schema.scheduling import scheduler_lock
from punchbridge.store.schema.terminals import (
    TERMINAL_ACTIONS,
    TERMINAL_COMMAND_STATUSES,
    terminal_commands,
    terminal_users,
)

__all__ = [
    "BATCH_STATUSES",
    "DAY_BOOL_COLUMNS",
    "DAY_FLOAT_COLUMNS",
    "DAY_INT_COLUMNS",
    "DAY_TEXT_COLUMNS",
    "LEAVE_KINDS",
    "LEDGER_STATUSES",
    "NAMING_CONVENTION",
    "RUN_STATUSES",
    "TERMINAL_ACTIONS",
    "TERMINAL_COMMAND_STATUSES",
    "adjustments",
    "audit",
    "batches",
    "cloud_events",
    "cursors",
    "dead_letters",
    "delivery_locks",
    "erasure_keys",
    "id_type",
    "key_type",
    "leaves",
    "ledger",
    "metadata",
    "one_of",
    "period_locks",
    "processed_days",
    "punches",
    "quarantine",
    "runs",
    "scheduler_lock",
    "terminal_commands",
    "terminal_users",
    "tombstones",
    "webhook_events",
]
