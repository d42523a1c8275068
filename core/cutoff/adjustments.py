"""Adjustments: corrections of days of locked payroll periods, delivered in the next open period. Pure.

A day of a locked period keeps, in the store and in every target, the values the period closed with.
When a late punch or an approved leave changes such a day, the change becomes an `Adjustment`: the
day's values before (as the period closed with them, or as the previous adjustment of that day left
them) and after, numbered per employee and day (`seq` 1, 2, ...). Its record key is
`{employee_id}|{work_date}|adjustment:{seq}`, so seeing the same change again adds nothing.

Adjustments reach the payroll through the target named by `adjustments: {target: NAME}`, with that
target's own mapping. The mapping reads each adjustment as a day row (`adjustment_days`):

- `employee_id`, `work_date` (the corrected day, in the locked period), `site`, `shift`: the day's;
- `day_type`, `status`, `first_in`, `last_out`, `anomalies`, `intervals`, `rules_version`: the
  values after the correction;
- `worked_minutes`, `regular_minutes`, `ot_minutes`, `break_minutes`, `late_minutes`,
  `early_exit_minutes`, `leave_days`, `lop_days`, `punch_count`: the difference, after minus before
  (negative when the correction takes away);
- `recomputed`: true.

The period the adjustment is delivered in (its batch's period, in a file target's file name) is the
first period after the day's that is not locked for the day's site. docs/cutoff.md has an example
mapping.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import pandas as pd

from punchbridge.cutoff.settings import adjustment_problems
from punchbridge.mapping import HELD_BACK_COLUMNS, apply_mapping
from punchbridge.periods import PeriodLocks, period_label
from punchbridge.plugin_api.targets import Record
from punchbridge.rules.frames import DAY_COLUMNS
from punchbridge.store.days import day_content_hash, normalise_days
from punchbridge.store.retention import Adjustment

__all__ = [
    "DELTA_COLUMNS",
    "Adjustment",
    "AdjustmentPlan",
    "adjustment_days",
    "adjustment_problems",
    "adjustment_records",
    "day_rows",
    "plan_adjustments",
    "reposted",
]

#: The day columns an adjustment carries as a difference (after minus before).
DELTA_COLUMNS = (
    "worked_minutes",
    "regular_minutes",
    "ot_minutes",
    "break_minutes",
    "late_minutes",
    "early_exit_minutes",
    "leave_days",
    "lop_days",
    "punch_count",
)
_FLOAT_DELTAS = frozenset({"leave_days", "lop_days"})


def day_rows(days: pd.DataFrame) -> list[dict[str, Any]]:
    """Each day as a dict of its DAY_COLUMNS values, normalised as the store keeps them."""
    values = normalise_days(days)
    return [dict(zip(DAY_COLUMNS, row, strict=True)) for row in zip(*(values[c] for c in DAY_COLUMNS), strict=True)]


def _delta(column: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> int | float:
    old, new = before.get(column) or 0, after.get(column) or 0
    if column in _FLOAT_DELTAS:
        return round(float(new) - float(old), 6)
    return int(new) - int(old)


def adjustment_days(adjustments: Sequence[Adjustment]) -> pd.DataFrame:
    """The adjustments as day rows (DAY_COLUMNS) for a mapping; see the module docstring."""
    rows = []
    for adjustment in adjustments:
        after = adjustment.after
        row = {column: after.get(column) for column in DAY_COLUMNS}
        row["employee_id"] = adjustment.employee_id
        row["work_date"] = adjustment.work_date
        for column in DELTA_COLUMNS:
            row[column] = _delta(column, adjustment.before, after)
        row["recomputed"] = True
        rows.append(row)
    frame = pd.DataFrame(rows, columns=list(DAY_COLUMNS))
    return frame.astype({c: float for c in _FLOAT_DELTAS}).astype({"recomputed": bool})


class AdjustmentPlan:
    """What `plan_adjustments` decided for the computed days of locked periods."""

    def __init__(self, new: list[Adjustment], frozen: int, unseen: list[int]) -> None:
        self.new = new  # adjustments to record
        self.frozen = frozen  # days of locked periods whose computation differs from what the period holds
        self.unseen = unseen  # positions of locked days never stored before (saved as they are)


def plan_adjustments(
    computed: pd.DataFrame,
    stored: pd.DataFrame,
    latest: Mapping[tuple[str, str], Adjustment],
    locks: PeriodLocks,
) -> AdjustmentPlan:
    """The adjustments for `computed` days of locked periods (positions `0..n-1`), against the
    `stored` days (Store.load_days) and the `latest` adjustment of each (employee, work date).

    A day equal to what the period holds (the stored day, or the latest adjustment's after values)
    gives nothing: seeing the same change again records nothing twice.
    """
    stored_rows = {(r["employee_id"], r["work_date"]): r for r in day_rows(stored)} if len(stored) else {}
    stored_hash = (
        dict(zip(zip(stored["employee_id"], stored["work_date"], strict=True), stored["content_hash"], strict=True))
        if len(stored)
        else {}
    )
    hashes = day_content_hash(computed).tolist()
    new: list[Adjustment] = []
    unseen: list[int] = []
    frozen = 0
    for position, (row, content_hash) in enumerate(zip(day_rows(computed), hashes, strict=True)):
        key = (row["employee_id"], row["work_date"])
        if key not in stored_rows:
            unseen.append(position)
            continue
        previous = latest.get(key)
        holds = previous.after_hash if previous is not None else stored_hash[key]
        if content_hash == holds:
            continue
        frozen += 1
        site = row.get("site") or stored_rows[key].get("site")
        new.append(
            Adjustment(
                employee_id=row["employee_id"],
                work_date=row["work_date"],
                seq=previous.seq + 1 if previous is not None else 1,
                site=site,
                posting_period=locks.next_open(site, period_label(row["work_date"])),
                before=dict(previous.after) if previous is not None else stored_rows[key],
                after=row,
                after_hash=content_hash,
            )
        )
    return AdjustmentPlan(new, frozen, unseen)


def adjustment_records(
    mapping: Any, adjustments: Sequence[Adjustment], employees: pd.DataFrame
) -> tuple[list[tuple[Adjustment, Record]], pd.DataFrame]:
    """Each adjustment mapped to a record keyed `Adjustment.key`, and the rows the mapping held back
    (HELD_BACK_COLUMNS, as for days)."""
    mapped: list[tuple[Adjustment, Record]] = []
    held: list[pd.DataFrame] = []
    remaining = list(adjustments)
    while remaining:  # one round per adjustment of the same day: the mapping keys records by day
        seen: set[tuple[str, str]] = set()
        round_: list[Adjustment] = []
        later: list[Adjustment] = []
        for adjustment in remaining:
            key = (adjustment.employee_id, adjustment.work_date)
            (later if key in seen else round_).append(adjustment)
            seen.add(key)
        result = apply_mapping(mapping, adjustment_days(round_), employees)
        by_day = {f"{a.employee_id}|{a.work_date}|day": a for a in round_}
        for record in result.records:
            adjustment = by_day[record.key]
            mapped.append((adjustment, Record(adjustment.key, record.fields, record.content_hash)))
        held.append(result.held_back)
        remaining = later
    frame = pd.concat(held, ignore_index=True) if held else pd.DataFrame(columns=list(HELD_BACK_COLUMNS))
    return mapped, frame


def reposted(adjustments: Sequence[Adjustment], locks: PeriodLocks) -> list[tuple[Adjustment, str]]:
    """The adjustments whose posting period got locked before they were delivered, with the next open one."""
    moves = []
    for adjustment in adjustments:
        if locks.is_locked(adjustment.site, adjustment.posting_period):
            period = locks.next_open(adjustment.site, adjustment.posting_period)
            moves.append((replace(adjustment, posting_period=period), period))
    return moves
