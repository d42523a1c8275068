"""Delivery of adjustments (changes to days of locked payroll periods) to the `adjustments:` target,
kept apart from the delivery of days (docs/cutoff.md). Both send through `punchbridge.sync.delivery`."""

from __future__ import annotations

from typing import Any

import pandas as pd

from punchbridge.cutoff.adjustments import adjustment_records, reposted
from punchbridge.periods import PeriodLocks, period_bounds
from punchbridge.store import Store
from punchbridge.store.retention import Adjustment
from punchbridge.sync.delivery import Delivery, Outgoing
from punchbridge.sync.report import TargetReport
from punchbridge.sync.stored import employee_of_key, stored_records, zones_of_employees

__all__ = ["adjustments_waiting", "deliver_adjustments"]


def deliver_adjustments(delivery: Delivery, mapping: Any, employees: pd.DataFrame, locks: PeriodLocks) -> TargetReport:
    """Send the adjustments `delivery`'s target does not hold yet, through its `mapping`, one batch
    series per posting period (the first period after the day's that is not locked for its site)."""
    store = delivery.store

    def choose() -> Outgoing:
        waiting = _waiting_adjustments(store, delivery.name)
        moves = reposted(waiting, locks)
        if moves:
            if not delivery.dry_run:
                store.repost_adjustments(moves)
            moved = {adjustment.key: adjustment for adjustment, _ in moves}
            waiting = [moved.get(a.key, a) for a in waiting]
        mapped, held = adjustment_records(mapping, waiting, employees)
        delivery.quarantine_held(held)
        delivery.report.new = delivery.report.adjustments = len(mapped)
        posting = {record.key: period_bounds(a.posting_period) for a, record in mapped}
        zones = zones_of_employees(employees, delivery.site_zones)
        records = stored_records(
            type(delivery.target), delivery.target.settings, [record for _, record in mapped],
            lambda key: zones.get(employee_of_key(key)),
        )  # fmt: skip
        return Outgoing(records, posting)

    return delivery.deliver(choose)


def _waiting_adjustments(store: Store, name: str) -> list[Adjustment]:
    """The recorded adjustments `name` neither holds nor refused (refused ones are dead letters)."""
    recorded = store.adjustments()
    known = set(store.ledger(name, [a.key for a in recorded])["record_key"]) if recorded else set()
    return [a for a in recorded if a.key not in known]


def adjustments_waiting(store: Store, adjustments_target: str | None) -> int:
    """How many recorded adjustments the `adjustments:` target does not hold (all, without one)."""
    recorded = store.adjustments()
    if adjustments_target is None:
        return len(recorded)
    if not recorded:
        return 0
    ledger = store.ledger(adjustments_target, [a.key for a in recorded])
    delivered = set(ledger.loc[ledger["status"] == "delivered", "record_key"])
    return sum(a.key not in delivered for a in recorded)
