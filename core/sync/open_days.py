"""Open days: a day with a check-in and no check-out, and what a target's `open_days:` makes of it. Pure.

A day is **open** when one of its worked intervals has no end (`intervals` holds `09:02:00+05:30/`;
the rules engine flags it `missing_out`). For a day a source computed without `intervals`, a
`missing_out` anomaly with a check-in says the same. A day whose rules close the interval themselves
(`shifts.<shift>.missing_out: shift_end`) is not open.

A check-out can still come while the day's **shift window** is open: the window of docs/rules.md
section 2 ends at the shift's end plus its `window_after`, on the day after the work date for a shift
that crosses midnight, in the site's zone (`window_closes`). After that, no punch can belong to the day.

What each `open_days:` setting does with an open day (`plan_open_days`):

- `hold` (the default): an open day is not sent. While its window is open it is looked at again by
  the next run; once the window closed it is quarantined as `missing_check_out` (once), and it is
  sent when the day is complete or its punches are fixed.
- `shift_end`: as `hold` while the window is open; once it closed, the day is closed at its shift's
  end (anomaly `closed_at_shift_end`, for payroll to review) and sent.
- `send`: while the window is open the day is sent as it is (live presence) and looked at again;
  once it closed, as `hold`, except that a day the target was sent open is closed at its shift's
  end and sent again, so the target never keeps it open.

A day the rules cannot close (its arrival came after the shift's end, or a source computed it) is
held. Each day is decided alone: one employee's open day never holds back their other days.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd

from punchbridge.rules.clock import NS_PER_DAY, NS_PER_MINUTE, wall_time_ns
from punchbridge.rules.settings import RuleSet

__all__ = [
    "CLOSED_AT_SHIFT_END",
    "MISSING_CHECK_OUT",
    "OPEN_DAY_MODES",
    "OpenDaysPlan",
    "day_keys_of",
    "is_open",
    "mark_closed",
    "plan_open_days",
    "window_closes",
]

#: The `open_days:` settings.
OPEN_DAY_MODES = ("hold", "shift_end", "send")
#: The quarantine reason of a held open day.
MISSING_CHECK_OUT = "missing_check_out"
#: The anomaly added to a day closed at its shift's end for a target.
CLOSED_AT_SHIFT_END = "closed_at_shift_end"
_HELD_COLUMNS = ("employee_id", "work_date", "reason", "detail")


def day_keys_of(days: pd.DataFrame) -> pd.Series:
    """The record key (`EMPLOYEE|DATE|day`) of each day."""
    return days["employee_id"].astype(str) + "|" + days["work_date"].astype(str) + "|day"


def _text(days: pd.DataFrame, column: str) -> pd.Series:
    if column not in days.columns:
        return pd.Series([""] * len(days), index=days.index, dtype=object)
    return days[column].astype(object).where(days[column].notna(), "").astype(str)


def is_open(days: pd.DataFrame) -> np.ndarray:
    """True for each day with a check-in and no check-out (see the module docstring)."""
    if len(days) == 0:
        return np.zeros(0, dtype=bool)
    if "intervals" in days.columns:
        intervals = days["intervals"].fillna("")
        # An interval's bounds are split by '/', intervals by ';': an open one ends the text or a piece.
        ends_open = intervals.str.endswith("/") | intervals.str.contains("/;", regex=False)
        opened = np.array(ends_open.fillna(False), dtype=bool)
        without = np.flatnonzero(np.asarray(intervals.str.len().fillna(0) == 0))
    else:
        opened, without = np.zeros(len(days), dtype=bool), np.arange(len(days))
    if len(without):  # a source's day without intervals: its anomalies and check-in say it
        rest = days.iloc[without]
        flagged = _text(rest, "anomalies").str.split(";").apply(lambda codes: "missing_out" in codes)
        has_in = _text(rest, "first_in").str.strip() != ""
        opened[without] = np.asarray(flagged & has_in, dtype=bool)
    return opened


def window_closes(days: pd.DataFrame, rules: RuleSet) -> np.ndarray:
    """The instant (ns since the epoch, UTC) each day's shift window closes (see the module docstring).

    A day whose shift or site the rules do not know (a source's own) is given until midnight UTC two
    days after its work date.
    """
    closes = np.zeros(len(days), dtype=np.int64)
    combos = zip(_text(days, "site"), _text(days, "shift"), days["work_date"].astype(str), strict=True)
    cache: dict[tuple[str, str, str], int] = {}
    for row, combo in enumerate(combos):
        if combo not in cache:
            cache[combo] = _window_close(rules, *combo)
        closes[row] = cache[combo]
    return closes


def _window_close(rules: RuleSet, site_name: str, shift_name: str, work_date: str) -> int:
    day = date.fromisoformat(work_date)
    site, shift = rules.sites.get(site_name), rules.shifts.get(shift_name)
    if site is None or shift is None:
        return (day - date(1970, 1, 1) + timedelta(days=2)).days * NS_PER_DAY
    end_day = day + timedelta(days=1) if shift.crosses_midnight else day
    return wall_time_ns(site.timezone, end_day, shift.end) + shift.window_after * NS_PER_MINUTE


@dataclass(frozen=True)
class OpenDaysPlan:
    """What to do with a target's candidate days (`plan_open_days`)."""

    send: pd.DataFrame  #: days to map and send as they are (complete days; `send`: open days of today)
    close: pd.DataFrame  #: past open days to close at their shift's end, then send
    held: pd.DataFrame  #: past open days not sent: employee_id, work_date, reason, detail (for the quarantine)
    waiting: int = 0  #: open days whose window is still open, not sent in this run
    #: keys to look at again in the next run: days whose window is still open
    watch: frozenset[str] = field(default_factory=frozenset)
    #: keys the target holds (or is being sent) open: closed at the shift's end once their window closes
    sent_open: frozenset[str] = field(default_factory=frozenset)
    #: keys of the open days not sent as they are (held, to close, or waiting for their window to close)
    withheld: frozenset[str] = field(default_factory=frozenset)


def plan_open_days(
    days: pd.DataFrame, rules: RuleSet, mode: str, now_ns: int, sent_open: Collection[str] = ()
) -> OpenDaysPlan:
    """Split `days` by the `open_days:` setting `mode` at the instant `now_ns` (see the module docstring).

    `sent_open` are the keys the target was sent open by earlier runs (the `send` mode's live days):
    once their window closed they are closed at the shift's end whatever the mode is now.
    """
    if mode not in OPEN_DAY_MODES:
        raise ValueError(f"open_days is {mode!r}, not one of {', '.join(OPEN_DAY_MODES)}")
    if len(days) == 0:
        return OpenDaysPlan(days, days, _held_rows(days, []))
    opened = is_open(days)
    if not opened.any():  # the usual case: nothing to decide, nothing copied
        return OpenDaysPlan(days, days.iloc[0:0], _held_rows(days.iloc[0:0], []))
    keys = np.full(len(days), "", dtype=object)
    live = np.zeros(len(days), dtype=bool)
    keys[opened] = day_keys_of(days[opened]).to_numpy()  # only the open days need keys and windows
    live[opened] = window_closes(days[opened], rules) > now_ns
    past = opened & ~live
    was_sent_open = np.isin(keys, np.asarray(sorted(sent_open), dtype=object)) if sent_open else np.zeros_like(opened)
    to_close = past & ((mode == "shift_end") | was_sent_open)
    to_hold = past & ~to_close
    to_send = ~opened | (live & (mode == "send"))
    held = days[to_hold]
    reason = "no check-out: held until the day is complete or its punches are fixed (open_days: hold)"
    return OpenDaysPlan(
        send=days[to_send],
        close=days[to_close],
        held=_held_rows(held, [reason] * len(held)),
        waiting=int((live & ~to_send).sum()),
        watch=frozenset(keys[live].tolist()),
        sent_open=frozenset(keys[live & (to_send | was_sent_open)].tolist()),
        withheld=frozenset(keys[opened & ~to_send].tolist()),
    )


def _held_rows(days: pd.DataFrame, details: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "employee_id": days["employee_id"].astype(str).tolist() if len(days) else [],
            "work_date": days["work_date"].astype(str).tolist() if len(days) else [],
            "reason": [MISSING_CHECK_OUT] * len(details),
            "detail": details,
        },
        columns=list(_HELD_COLUMNS),
        dtype=object,
    )


def mark_closed(open_days: pd.DataFrame, recomputed: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The `open_days` as the rules close them at the shift's end (`recomputed`: the same days computed
    with `missing_out: shift_end`), marked `closed_at_shift_end`; and the held rows of those still open.

    A day the rules leave open (its arrival came after the shift's end) or did not compute (a
    source's day) is held.
    """
    wanted = set(day_keys_of(open_days)) if len(open_days) else set()
    if len(recomputed):
        recomputed = recomputed[day_keys_of(recomputed).isin(wanted)]
    closable = recomputed[~is_open(recomputed)] if len(recomputed) else recomputed
    if len(closable):
        versions = dict(zip(day_keys_of(open_days), open_days["rules_version"], strict=True))
        closable = closable.assign(
            anomalies=[
                ";".join([*[c for c in str(text).split(";") if c], CLOSED_AT_SHIFT_END])
                for text in closable["anomalies"].astype(object).where(closable["anomalies"].notna(), "")
            ],
            rules_version=day_keys_of(closable).map(versions).to_numpy(),
        )
    done = set(day_keys_of(closable)) if len(closable) else set()
    left = open_days[~day_keys_of(open_days).isin(done)] if len(open_days) else open_days
    detail = "no check-out, and it cannot be closed at its shift's end (the arrival came after the end)"
    return closable, _held_rows(left, [detail] * len(left))
