"""The ledger diff: which processed days a target should receive, mapped through its mapping.

A day goes out when the target's ledger does not hold its record as it is now (new, changed, or
marked not held by reconciliation); a day of a locked payroll period is never rewritten nor added
(docs/cutoff.md). A record the target already holds in an older version goes out flagged
`recomputed`, keeping the canonical hash (computed with `recomputed` false) so the next run
compares like with like.

Records are compared and sent in the target's stored form (`punchbridge.sync.stored`): the ledger
holds the hash of what the target keeps, and each record carries its day's site zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from punchbridge.cutoff.state import CutOff
from punchbridge.mapping import apply_mapping
from punchbridge.plugin_api.targets import Record
from punchbridge.sync.delivery import Delivery
from punchbridge.sync.open_gate import OpenDayGate
from punchbridge.sync.stored import stored_records, zones_of_days

__all__ = ["GatedRecords", "day_keys", "records_to_send", "through_gate"]


def day_keys(days: pd.DataFrame) -> pd.Series:
    """`employee_id|work_date` of each processed day."""
    return days["employee_id"].astype(str) + "|" + days["work_date"].astype(str)


def records_to_send(
    delivery: Delivery,
    mapping: Any,
    days: pd.DataFrame | None,
    employees: pd.DataFrame,
    cutoff: CutOff,
    gate: OpenDayGate | None = None,
    recomputed: set[str] | frozenset[str] = frozenset(),
) -> list[Record]:
    """Map the candidate `days` for `delivery`'s target; the records it does not hold as they are now.

    Counts new, changed, unchanged and locked records into `delivery.report`; days the mapping holds
    back (unmapped ids, cost centres) are quarantined through `delivery.quarantine_held`. With a
    `gate` (the target's `open_days:`), the mapped days then pass it: held open days are quarantined
    through `delivery.quarantine_open`, and days it closes at their shift's end replace their open form.
    `recomputed` holds the record keys of the days this run recomputed: those the target already holds
    as they are are counted as `same_as_delivered` (the report says why nothing went out).
    """
    if days is None or len(days) == 0:
        return []
    report = delivery.report
    mapped = apply_mapping(mapping, days.assign(recomputed=False), employees)
    delivery.quarantine_held(mapped.held_back)
    mapped_records = mapped.records
    if gate is not None:
        gated = through_gate(mapping, days, employees, gate, mapped_records)
        delivery.quarantine_open(gated.held_open)
        delivery.quarantine_held(gated.held_back)
        days, mapped_records = gated.days, gated.records
    target_class, settings = type(delivery.target), delivery.target.settings
    zones = zones_of_days(days, delivery.site_zones)
    records = stored_records(target_class, settings, mapped_records, zones)
    ledger = delivery.store.ledger(delivery.name, [r.key for r in records])
    held_hash = dict(zip(ledger["record_key"], ledger["content_hash"], strict=True))
    held_status = dict(zip(ledger["record_key"], ledger["status"], strict=True))
    locked = cutoff.locked(days)
    locked_keys = set(day_keys(days[locked]) + "|day") if locked.any() else set()
    pending, resend_keys = [], set()
    for record in records:
        if record.key in locked_keys and held_hash.get(record.key, "") != record.content_hash:
            report.locked += 1  # a locked period is never rewritten, nor added to (docs/cutoff.md)
        elif record.key not in held_hash:
            report.new += 1
            pending.append(record)
        elif held_hash[record.key] == record.content_hash:
            report.unchanged += 1
            report.same_as_delivered += record.key in recomputed
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
        resent = stored_records(target_class, settings, apply_mapping(mapping, flagged, employees).records, zones)
        fields = {r.key: r.fields for r in resent}
        pending = [Record(r.key, fields.get(r.key, r.fields), r.content_hash, r.timezone) for r in pending]
    return pending


@dataclass(frozen=True)
class GatedRecords:
    """Mapped days after a target's open-day gate (`through_gate`)."""

    days: pd.DataFrame  #: the days to send: those kept as they were, and the closed ones in their closed form
    records: list[Record]  #: their records, as mapped (not yet in the target's stored form)
    held_open: pd.DataFrame  #: the open days held: employee_id, work_date, reason, detail
    held_back: pd.DataFrame  #: closed days the mapping held back


def through_gate(
    mapping: Any, days: pd.DataFrame, employees: pd.DataFrame, gate: OpenDayGate, records: list[Record]
) -> GatedRecords:
    """The mapped `days` (`records`: their mapped records) after the open-day gate; closed days mapped
    in their closed form and every record ordered by work date when some were closed."""
    if len(records) == len(days):
        mappable = days
    else:
        mappable = days[(day_keys(days) + "|day").isin({record.key for record in records})]
    result = gate.apply(mappable)
    if result.withheld:  # few days are open: drop the records of those not sent as they are
        records = [record for record in records if record.key not in result.withheld]
    held_back = result.held.iloc[0:0]
    if len(result.closed):
        closed = apply_mapping(mapping, result.closed.assign(recomputed=False), employees)
        held_back = closed.held_back
        records += closed.records
        # Earlier days first: a target that refuses a day while an earlier one is open (Odoo's "hasn't
        # checked out since") gets the earlier day closed first.
        records.sort(key=lambda record: tuple(reversed(record.key.split("|")[:2])))
        closed_keys = set(day_keys(result.closed) + "|day")
        days = pd.concat([days[~(day_keys(days) + "|day").isin(closed_keys)], result.closed], ignore_index=True)
    return GatedRecords(days, records, result.held, held_back)
