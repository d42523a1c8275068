"""The open-day gate of one target in one run: `punchbridge.sync.open_days` applied with the store.

`punchbridge.sync.open_days` decides (pure); this gate supplies what it decides on and keeps what it
must remember between runs, in the target's cursor `open_days:TARGET`:

- the days to look at again (`watch`): open days whose shift window was still open. A sync only
  looks at days that changed, so without this an open day of last night would never be held,
  closed or sent once its window closed;
- the days the target was sent open (`sent_open`, the `send` setting's live days): once their window
  closes they are closed at the shift's end and sent again, so the target never keeps them open.

Closing a day at its shift's end is the rules engine's own `missing_out: shift_end` (docs/rules.md,
section 4), computed for the open days only by the function the gate is given.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from punchbridge.rules.settings import RuleSet
from punchbridge.store import Store
from punchbridge.sync.open_days import OpenDaysPlan, day_keys_of, mark_closed, plan_open_days

__all__ = ["OPEN_DAYS_CURSOR", "GateResult", "OpenDayGate", "closing_rules"]

#: The store cursor holding a target's watched and sent-open days (JSON).
OPEN_DAYS_CURSOR = "open_days:{target}"


def closing_rules(rules: RuleSet) -> RuleSet:
    """`rules` with every shift closing an open interval at its end (`missing_out: shift_end`)."""
    shifts = {name: shift.model_copy(update={"missing_out": "shift_end"}) for name, shift in rules.shifts.items()}
    return rules.model_copy(update={"shifts": shifts})


@dataclass(frozen=True)
class GateResult:
    """A target's candidate days after its open-day gate."""

    send: pd.DataFrame  #: days to send as they are
    closed: pd.DataFrame  #: open days closed at their shift's end (anomaly `closed_at_shift_end`)
    held: pd.DataFrame  #: held open days: employee_id, work_date, reason (`missing_check_out`), detail
    withheld: frozenset[str] = frozenset()  #: keys of the days in `days` not to send as they are


@dataclass
class OpenDayGate:
    """Applies a target's `open_days:` setting to its candidate days (see the module docstring)."""

    target: str
    mode: str
    rules: RuleSet
    store: Store
    #: computes days again with `closing_rules` (employee ids, first and last work date) -> days
    recompute: Callable[[list[str], date, date], pd.DataFrame]
    now_ns: int
    dry_run: bool = False
    watch: frozenset[str] = field(init=False, default=frozenset())
    sent_open: frozenset[str] = field(init=False, default=frozenset())
    plan: OpenDaysPlan | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        saved = json.loads(self.store.get_cursor(OPEN_DAYS_CURSOR.format(target=self.target)) or "{}")
        self.watch = frozenset(saved.get("watch", ()))
        self.sent_open = frozenset(saved.get("sent_open", ()))

    def with_watched(self, days: pd.DataFrame) -> pd.DataFrame:
        """`days` plus the stored days the gate watches that are not among them."""
        missing = set(self.watch) - (set(day_keys_of(days)) if len(days) else set())
        if not missing:
            return days
        staff = sorted({key.split("|")[0] for key in missing})
        dates = sorted(key.split("|")[1] for key in missing)
        stored = self.store.load_days(date.fromisoformat(dates[0]), date.fromisoformat(dates[-1]), staff)
        stored = stored[day_keys_of(stored).isin(missing)] if len(stored) else stored
        if len(stored) == 0:
            return days
        return pd.concat([days, stored], ignore_index=True) if len(days) else stored.reset_index(drop=True)

    def apply(self, days: pd.DataFrame) -> GateResult:
        """`days` split by the target's `open_days:` setting: send as they are, closed at the shift's end,
        or held (rows for the quarantine, reason `missing_check_out`)."""
        plan = plan_open_days(days, self.rules, self.mode, self.now_ns, self.sent_open)
        self.plan = plan
        closed, unclosable = self._close(plan.close)
        held = pd.concat([plan.held, unclosable], ignore_index=True) if len(unclosable) else plan.held
        return GateResult(plan.send, closed, held, plan.withheld)

    def _close(self, open_days: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        if len(open_days) == 0:
            return open_days, mark_closed(open_days, open_days)[1]
        staff = sorted(set(open_days["employee_id"].astype(str)))
        dates = open_days["work_date"].astype(str)
        recomputed = self.recompute(staff, date.fromisoformat(dates.min()), date.fromisoformat(dates.max()))
        return mark_closed(open_days, recomputed)

    def save(self) -> None:
        """Remember the watched and sent-open days for the next run (nothing on a dry run)."""
        if self.dry_run or self.plan is None:
            return
        state = {"watch": sorted(self.plan.watch), "sent_open": sorted(self.plan.sent_open)}
        self.store.set_cursor(OPEN_DAYS_CURSOR.format(target=self.target), json.dumps(state))
