"""The sync engine: punches in, processed days recomputed where they changed, records delivered once.

Modules: `engine` (one run: ingest, recompute, deliver; dead-letter retries), `quiet` (a night with
nothing new, decided and run before pandas and the rules engine are imported), `scope` (the range and
targets of a run), `inputs` (the files a sync reads, checked first), `recompute` (ingest and
recomputation), `diff` (which days a target does not hold yet), `delivery` (the one path records take
to a target: batches recorded before sending, retries, ledger, hooks), `batches` (cutting records into
batches, one push with retries), `adjustments` (adjustments for locked periods), `report` and `errors`.

The names below load their module on first use: importing `punchbridge.sync.quiet` must not import
the engine (pandas).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from punchbridge.lazy import lazy_names

if TYPE_CHECKING:
    from punchbridge.sync.engine import SyncEngine, SyncInputs, SyncReport, TargetReport, UnknownTargetError
    from punchbridge.sync.errors import RangePurgedError

__all__ = ["RangePurgedError", "SyncEngine", "SyncInputs", "SyncReport", "TargetReport", "UnknownTargetError"]

_HOMES = {
    "RangePurgedError": "punchbridge.sync.errors",
    "SyncEngine": "punchbridge.sync.engine",
    "SyncInputs": "punchbridge.sync.inputs",
    "SyncReport": "punchbridge.sync.report",
    "TargetReport": "punchbridge.sync.report",
    "UnknownTargetError": "punchbridge.sync.errors",
}


__getattr__ = lazy_names(__name__, _HOMES)
