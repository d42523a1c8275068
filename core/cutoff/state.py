"""The payroll cut-off as the sync engine applies it (docs/cutoff.md).

`CutOff` is read from the store once per run: the period locks, and the employees that were erased.
The engine asks it two things:

- `hold(days)`, before computed (or source) days are saved: days of erased employees up to their
  erasure are dropped; days of locked periods that the store already holds are *frozen* (the store
  keeps the values the period closed with) and each real change becomes an `Adjustment`, recorded
  here (nothing is written on a dry run). Days of a locked period the store never held are kept:
  there is nothing to correct, and delivery holds them back anyway.
- `locked(days)` / `locked_key(key)`, at delivery: which records belong to a locked period for
  their site. Those are never sent to any target; the report counts them as `locked`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd

from punchbridge.cutoff.adjustments import Adjustment, plan_adjustments
from punchbridge.periods import PeriodLocks
from punchbridge.store import Store

__all__ = ["CutOff", "Held"]


@dataclass
class Held:
    """What `CutOff.hold` did with one frame of days."""

    days: pd.DataFrame  # the days to save (positions renumbered)
    frozen: int = 0  # days of locked periods whose new computation differs from what the period holds
    adjustments: list[Adjustment] = field(default_factory=list)  # recorded now (or, dry, that would be)
    erased: int = 0  # days of erased employees left out


class CutOff:
    """The locks and erasures of one run, and the decisions that follow from them."""

    def __init__(self, locks: PeriodLocks, erased: Mapping[str, date], site_of: Mapping[str, str]) -> None:
        self.locks = locks
        self.erased = dict(erased)
        self.site_of = dict(site_of)

    @classmethod
    def load(cls, store: Store, employees: pd.DataFrame) -> CutOff:
        """The locks and the erased employees (of `employees`) as the store holds them now."""
        ids = employees["employee_id"].astype(str).tolist()
        erased = {
            employee: datetime.fromtimestamp(at / 1e9, UTC).date()
            for employee, at in store.erased_employees(ids).items()
        }
        site_of = dict(zip(ids, employees["site"].astype(str), strict=True))
        return cls(PeriodLocks.from_frame(store.period_locks()), erased, site_of)

    def _sites(self, days: pd.DataFrame) -> list[object]:
        employees = days["employee_id"].astype(str)
        sites = employees.map(self.site_of)
        if "site" in days.columns:
            sites = days["site"].where(days["site"].notna(), sites)
        return list(sites.to_numpy(dtype=object))

    def locked(self, days: pd.DataFrame) -> np.ndarray:
        """For each day: does it lie in a period locked for its site."""
        if not self.locks or len(days) == 0:
            return np.zeros(len(days), dtype=bool)
        return self.locks.locked_mask(self._sites(days), days["work_date"].astype(str).tolist())

    def locked_key(self, key: str) -> bool:
        """For a day record key (`{employee}|{work_date}|day`): is its period locked for its site."""
        if not self.locks:
            return False
        employee, work_date, kind = key.rsplit("|", 2)
        return kind == "day" and self.locks.is_locked(self.site_of.get(employee), work_date[:7])

    def _erased_mask(self, days: pd.DataFrame) -> np.ndarray:
        if not self.erased or len(days) == 0:
            return np.zeros(len(days), dtype=bool)
        until = days["employee_id"].astype(str).map({e: d.isoformat() for e, d in self.erased.items()})
        return (until.notna() & (days["work_date"].astype(str) <= until.fillna(""))).to_numpy()

    def hold(self, store: Store, days: pd.DataFrame, *, dry_run: bool) -> Held:
        """The days to save: see the module docstring. Adjustments are recorded unless `dry_run`."""
        days = days.reset_index(drop=True)
        erased = self._erased_mask(days)
        if erased.any():
            days = days[~erased].reset_index(drop=True)
        locked = self.locked(days)
        if not locked.any():
            return Held(days, erased=int(erased.sum()))
        candidates = days[locked].reset_index(drop=True)
        employees = candidates["employee_id"].astype(str).unique().tolist()
        work_dates = candidates["work_date"].astype(str)
        stored = store.load_days(date.fromisoformat(work_dates.min()), date.fromisoformat(work_dates.max()), employees)
        latest: dict[tuple[str, str], Adjustment] = {}
        for adjustment in store.adjustments(employees):  # ordered by seq: the last one wins
            latest[(adjustment.employee_id, adjustment.work_date)] = adjustment
        plan = plan_adjustments(candidates, stored, latest, self.locks)
        if plan.new and not dry_run:
            store.add_adjustments(plan.new)
        keep = ~locked
        keep[np.flatnonzero(locked)[plan.unseen]] = True
        return Held(days[keep].reset_index(drop=True), plan.frozen, plan.new, int(erased.sum()))
