"""Shift occurrences: for every employee and local date, the shift, its instants and the day's type.

Occurrences are laid out as a dense grid, employee-major: occurrence `e * n_days + d` is employee
`e` (in sorted id order) on day `base_day + d`. The grid reaches `MARGIN_DAYS` beyond the requested
range on both sides so that occurrences just outside it still claim their punches (docs/rules.md,
section 2).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from punchbridge.rules.clock import NS_PER_MINUTE, wall_time_ns
from punchbridge.rules.frames import AttendanceInputs
from punchbridge.rules.settings import WEEKDAYS, RuleSet, Shift

__all__ = ["DAY_TYPES", "MARGIN_DAYS", "Occurrences", "build_occurrences"]

MARGIN_DAYS = 2
#: Codes of `Occurrences.day_type`.
DAY_TYPES = ("workday", "weekly_off", "holiday")
_NONE = np.iinfo(np.int64).min


@dataclass
class Occurrences:
    """The occurrence grid and, per occurrence, everything the rules need besides punches."""

    employee_ids: np.ndarray  # sorted, object
    site_names: list[str]
    shift_names: list[str]
    shifts: list[Shift]
    base_day: date
    n_days: int
    first_output_day: int
    last_output_day: int
    employee_site: np.ndarray  # [E] site code
    shift: np.ndarray  # [E*D] shift code
    start: np.ndarray  # [E*D] ns
    end: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    break_start: np.ndarray  # [E*D, B] ns, _NONE where the shift has fewer breaks
    break_end: np.ndarray
    day_type: np.ndarray  # [E*D] index into DAY_TYPES
    leave_days: np.ndarray  # [E*D] 0, 0.5, 1
    unpaid_leave_days: np.ndarray

    @property
    def size(self) -> int:
        """Number of occurrences in the grid."""
        return len(self.employee_ids) * self.n_days

    def setting(self, getter: Callable[[Shift], object]) -> np.ndarray:
        """Per occurrence, one setting of its shift (`getter` reads it from a `Shift`)."""
        return np.array([getter(s) for s in self.shifts])[self.shift]


def _codes(values: pd.Series, names: list[str]) -> np.ndarray:
    return np.asarray(pd.Index(names).get_indexer(pd.Index(values.astype(str))), dtype=np.int64)


def _day_index(days: pd.Series, base_day: date) -> np.ndarray:
    ordinals = np.array([d.toordinal() for d in days], dtype=np.int64)
    return ordinals - base_day.toordinal()


def build_occurrences(inputs: AttendanceInputs, rules: RuleSet, date_from: date, date_to: date) -> Occurrences:
    """Lay out every employee's shift occurrences from `date_from - 2` to `date_to + 2`."""
    employees = inputs.employees.sort_values("employee_id", kind="stable")
    employee_ids = employees["employee_id"].astype(str).to_numpy(dtype=object)
    n_emp = len(employee_ids)
    base_day = date_from - timedelta(days=MARGIN_DAYS)
    n_days = (date_to - date_from).days + 1 + 2 * MARGIN_DAYS
    site_names = sorted(rules.sites)
    shift_names = sorted(rules.shifts)
    shifts = [rules.shifts[name] for name in shift_names]

    employee_site = _codes(employees["site"], site_names)
    shift_grid = np.repeat(_codes(employees["shift"], shift_names)[:, None], n_days, axis=1)
    _apply_assignments(shift_grid, inputs.assignments, employee_ids, shift_names, base_day)
    shift = shift_grid.reshape(-1)
    site_of_occ = np.repeat(employee_site, n_days)
    day_of_occ = np.tile(np.arange(n_days), n_emp)

    n_breaks = max((len(s.breaks) for s in shifts), default=0)
    table = _instant_table(rules, site_names, shifts, base_day, n_days, n_breaks, employee_site, shift_grid)
    key = (site_of_occ * len(shifts) + shift) * n_days + day_of_occ
    start, end = table["start"][key], table["end"][key]
    window_before = np.array([s.window_before for s in shifts], dtype=np.int64)[shift]
    window_after = np.array([s.window_after for s in shifts], dtype=np.int64)[shift]

    return Occurrences(
        employee_ids=employee_ids,
        site_names=site_names,
        shift_names=shift_names,
        shifts=shifts,
        base_day=base_day,
        n_days=n_days,
        first_output_day=MARGIN_DAYS,
        last_output_day=n_days - 1 - MARGIN_DAYS,
        employee_site=employee_site,
        shift=shift,
        start=start,
        end=end,
        lo=start - window_before * NS_PER_MINUTE,
        hi=end + window_after * NS_PER_MINUTE,
        break_start=table["break_start"][key],
        break_end=table["break_end"][key],
        day_type=_day_types(rules, employees, site_names, base_day, n_days).reshape(-1),
        **_leave_days(inputs.leaves, employee_ids, base_day, n_days),
    )


def _apply_assignments(
    shift_grid: np.ndarray,
    assignments: pd.DataFrame,
    employee_ids: np.ndarray,
    shift_names: list[str],
    base_day: date,
) -> None:
    if assignments is None or assignments.empty:
        return
    emp = np.asarray(pd.Index(employee_ids).get_indexer(assignments["employee_id"].astype(str)))
    code = _codes(assignments["shift"], shift_names)
    first = np.clip(_day_index(assignments["from"], base_day), 0, None)
    last = np.clip(_day_index(assignments["to"], base_day), None, shift_grid.shape[1] - 1)
    use = (emp >= 0) & (first <= last)
    emp, code, first, last = emp[use], code[use], first[use], last[use]
    lengths = last - first + 1
    rows = np.repeat(emp, lengths)
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    shift_grid[rows, np.repeat(first, lengths) + offsets] = np.repeat(code, lengths)


def _instant_table(
    rules: RuleSet,
    site_names: list[str],
    shifts: list[Shift],
    base_day: date,
    n_days: int,
    n_breaks: int,
    employee_site: np.ndarray,
    shift_grid: np.ndarray,
) -> dict[str, np.ndarray]:
    """Start, end and break instants per (site, shift, day), for the combinations in use."""
    size = len(site_names) * len(shifts) * n_days
    table = {
        "start": np.zeros(size, dtype=np.int64),
        "end": np.zeros(size, dtype=np.int64),
        "break_start": np.full((size, n_breaks), _NONE, dtype=np.int64),
        "break_end": np.full((size, n_breaks), _NONE, dtype=np.int64),
    }
    pairs = np.unique(employee_site[:, None] * len(shifts) + shift_grid)
    days = [base_day + timedelta(days=d) for d in range(n_days)]
    for pair in pairs.tolist():
        site_code, shift_code = divmod(pair, len(shifts))
        zone = rules.sites[site_names[site_code]].timezone
        shift = shifts[shift_code]
        end_minute = shift.end + (1440 if shift.crosses_midnight else 0)
        for d, day in enumerate(days):
            row = pair * n_days + d
            table["start"][row] = wall_time_ns(zone, day, shift.start)
            table["end"][row] = wall_time_ns(zone, day, end_minute)
            for b, brk in enumerate(shift.breaks):
                b_start = brk.start + (1440 if shift.crosses_midnight and brk.start < shift.start else 0)
                b_end = b_start + (brk.end - brk.start) % 1440
                table["break_start"][row, b] = wall_time_ns(zone, day, b_start)
                table["break_end"][row, b] = wall_time_ns(zone, day, b_end)
    return table


def _day_types(
    rules: RuleSet, employees: pd.DataFrame, site_names: list[str], base_day: date, n_days: int
) -> np.ndarray:
    weekday = np.array([(base_day + timedelta(days=d)).weekday() for d in range(n_days)])
    holiday = np.zeros((len(site_names), n_days), dtype=bool)
    for s, name in enumerate(site_names):
        for day in rules.sites[name].holidays:
            d = (day - base_day).days
            if 0 <= d < n_days:
                holiday[s, d] = True
    site_code = _codes(employees["site"], site_names)
    overrides = employees["weekly_off"] if "weekly_off" in employees else pd.Series([None] * len(employees))
    masks = np.zeros(len(employees), dtype=np.int64)
    for i, (code, override) in enumerate(zip(site_code.tolist(), overrides.tolist(), strict=True)):
        days = rules.sites[site_names[code]].weekly_off if _is_missing(override) else override
        masks[i] = sum(1 << WEEKDAYS.index(day) for day in days)
    off = ((masks[:, None] >> weekday[None, :]) & 1).astype(bool)
    return np.where(holiday[site_code], 2, np.where(off, 1, 0)).astype(np.int8)


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def _leave_days(leaves: pd.DataFrame, employee_ids: np.ndarray, base_day: date, n_days: int) -> dict[str, np.ndarray]:
    size = len(employee_ids) * n_days
    leave = np.zeros(size)
    unpaid = np.zeros(size)
    if leaves is not None and not leaves.empty:
        emp = np.asarray(pd.Index(employee_ids).get_indexer(leaves["employee_id"].astype(str)))
        day = _day_index(leaves["date"], base_day)
        keep = (emp >= 0) & (day >= 0) & (day < n_days)
        flat = emp[keep] * n_days + day[keep]
        amount = np.where(leaves["kind"].to_numpy()[keep] == "full", 1.0, 0.5)
        paid = leaves["paid"].to_numpy(dtype=bool)[keep]
        np.add.at(leave, flat, amount)
        np.add.at(unpaid, flat, np.where(paid, 0.0, amount))
    return {"leave_days": np.minimum(leave, 1.0), "unpaid_leave_days": np.minimum(unpaid, 1.0)}
