"""The sync engine: punches in, processed days recomputed where they changed, records delivered once.

Modules: `engine` (one run: ingest, recompute, deliver; dead-letter retries), `inputs` (the files a
sync reads, checked first), `recompute` (ingest and recomputation), `diff` (which days a target does
not hold yet), `delivery` (the one path records take to a target: batches recorded before sending,
retries, ledger, hooks), `batches` (cutting records into batches, one push with retries),
`adjustments` (adjustments for locked periods), `report` and `errors`.
"""

from punchbridge.sync.engine import SyncEngine, SyncInputs, SyncReport, TargetReport, UnknownTargetError
from punchbridge.sync.errors import RangePurgedError

__all__ = ["RangePurgedError", "SyncEngine", "SyncInputs", "SyncReport", "TargetReport", "UnknownTargetError"]
