"""The sync engine: punches in, processed days recomputed where they changed, records delivered once.

Modules: `engine` (one run: ingest, recompute, deliver), `batches` (reports, cutting records into
batches) and `adjustments` (delivery of adjustments for locked periods).
"""

from punchbridge.sync.engine import SyncEngine, SyncInputs, SyncReport, TargetReport, UnknownTargetError

__all__ = ["SyncEngine", "SyncInputs", "SyncReport", "TargetReport", "UnknownTargetError"]
