"""The ledger diff: which processed days a target should receive, mapped through its mapping.

A day goes out when the target's ledger does not hold its record as it is now (new, changed, or
marked not held by reconciliation); a day of a locked payroll period is never rewritten nor added
(docs/cutoff.md). A record the target already holds in an older version goes out flagged
`recomputed`, keeping the canonical hash (computed with `recomputed` false) so the next run
compares like with like.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from punchbridge.cutoff.state import CutOff
from punchbridge.mapping import apply_mapping
from punchbridge.plugin_api.targets import Record
from punchbridge.sync.delivery import Delivery

__all__ = ["day_keys", "records_to_send"]


def day_keys(days: pd.DataFrame) -> pd.Series:
    """`employee_id|work_date` of each processed day."""
    return days["employee_id"].astype(str) + "|" + days["work_date"].astype(str)


def records_to_send(
    delivery: Delivery, mapping: Any, days: pd.DataFrame | None, employees: pd.DataFrame, cutoff: CutOff
) -> list[Record]:
    """Map the candidate `days` for `delivery`'s target; the records it does not hold as they are now.

    Counts new, changed, unchanged and locked records into `delivery.report`; days the mapping holds
    back (unmapped ids, cost centres) are quarantined through `delivery.quarantine_held`.
    """
    if days is None or len(days) == 0:
        return []
    report = delivery.report
    canonical = days.assign(recomputed=False)
    mapped = apply_mapping(mapping, canonical, employees)
    delivery.quarantine_held(mapped.held_back)
    ledger = delivery.store.ledger(delivery.name, [r.key for r in mapped.records])
    held_hash = dict(zip(ledger["record_key"], ledger["content_hash"], strict=True))
    held_status = dict(zip(ledger["record_key"], ledger["status"], strict=True))
    locked = cutoff.locked(days)
    locked_keys = set(day_keys(days[locked]) + "|day") if locked.any() else set()
    pending, resend_keys = [], set()
    for record in mapped.records:
        if record.key in locked_keys and held_hash.get(record.key, "") != record.content_hash:
            report.locked += 1  # a locked period is never rewritten, nor added to (docs/cutoff.md)
        elif record.key not in held_hash:
            report.new += 1
            pending.append(record)
        elif held_hash[record.key] == record.content_hash:
            report.unchanged += 1
        else:
            report.changed += 1
            pending.append(record)
            if held_status[record.key] == "delivered":
                resend_keys.add(record.key)
    if "recomputed" in days.columns and days["recomputed"].astype(bool).any():
        # A source's own processing said it re-ran its rules for these days: they go out flagged too.
        by_source = set(day_keys(days[days["recomputed"].astype(bool)]) + "|day")
        resend_keys |= by_source & {record.key for record in pending}
    if resend_keys:
        flagged = days[(day_keys(days) + "|day").isin(resend_keys)].assign(recomputed=True)
        fields = {r.key: r.fields for r in apply_mapping(mapping, flagged, employees).records}
        pending = [Record(r.key, fields.get(r.key, r.fields), r.content_hash) for r in pending]
    return pending
