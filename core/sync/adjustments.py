"""Delivery of adjustments (changes to days of locked payroll periods) to the `adjustments:` target:
part of the sync engine, kept apart from the delivery of days (docs/cutoff.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from punchbridge.cutoff.adjustments import adjustment_records, reposted
from punchbridge.periods import period_bounds
from punchbridge.plugin_api.targets import CredentialsError, FatalTargetError, TransientError
from punchbridge.store.retention import Adjustment
from punchbridge.sync.batches import TargetReport, by_period, chunks

if TYPE_CHECKING:
    from punchbridge.sync import SyncEngine

__all__ = ["adjustments_waiting", "deliver_adjustments"]


def deliver_adjustments(engine: SyncEngine, name: str) -> TargetReport:
    """Send the adjustments `name` does not hold yet, through its mapping, one batch series per
    posting period (the first period after the day's that is not locked for its site)."""
    report = TargetReport(name)
    target = engine._target(name)
    try:
        target.open()
        if not engine.dry_run:
            for batch in engine.store.open_batches(name):
                report.resumed_batches += 1
                engine._send(target, batch, report)
        waiting = _waiting_adjustments(engine, name)
        moves = reposted(waiting, engine.cutoff.locks)
        if moves:
            if not engine.dry_run:
                engine.store.repost_adjustments(moves)
            moved = {adjustment.key: adjustment for adjustment, _ in moves}
            waiting = [moved.get(a.key, a) for a in waiting]
        mapped, held = adjustment_records(engine.mappings[name], waiting, engine.employees)
        report.held_back += len(held)
        if len(held) and not engine.dry_run:
            engine._quarantine_held(held, name)
        report.new = report.adjustments = len(mapped)
        records = [record for _, record in mapped]
        if engine.dry_run:
            report.sample = pd.DataFrame([dict(r.fields) for r in records[:10]])
            return report
        engine._total = len(records)
        size = min(engine.config.targets[name].batch_size or target.max_batch_size, target.max_batch_size)
        posting = {record.key: period_bounds(a.posting_period) for a, record in mapped}
        for (period_start, period_end), chunk_records in by_period(records, posting):
            for chunk in chunks(chunk_records, size):
                if engine.should_stop():
                    report.stopped = True
                    return report
                batch = engine.store.open_batch(name, period_start, period_end, list(chunk[0].fields), chunk)
                engine._send(target, batch, report)
    except (CredentialsError, FatalTargetError, TransientError) as exc:
        report.error = f"{type(exc).__name__}: {exc}"
    finally:
        target.close()
    return report


def _waiting_adjustments(engine: SyncEngine, name: str) -> list[Adjustment]:
    """The recorded adjustments `name` neither holds nor refused (refused ones are dead letters)."""
    recorded = engine.store.adjustments()
    known = set(engine.store.ledger(name, [a.key for a in recorded])["record_key"]) if recorded else set()
    return [a for a in recorded if a.key not in known]


def adjustments_waiting(engine: SyncEngine) -> int:
    """How many recorded adjustments the `adjustments:` target does not hold (all, without one)."""
    if engine.adjustments_target is None:
        return len(engine.store.adjustments())
    recorded = engine.store.adjustments()
    if not recorded:
        return 0
    ledger = engine.store.ledger(engine.adjustments_target, [a.key for a in recorded])
    delivered = set(ledger.loc[ledger["status"] == "delivered", "record_key"])
    return sum(a.key not in delivered for a in recorded)
