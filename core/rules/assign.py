"""Steps 2 and 3 of the rules: debounce the punch stream and give each punch to its occurrence."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .calendar import Occurrences
from .clock import NS_PER_SECOND
from .frames import DIRECTIONS, OPENING_DIRECTIONS

__all__ = ["PunchStream", "assign_to_occurrences", "debounce", "punch_stream"]

_DAY_SECONDS = 86_400


@dataclass
class PunchStream:
    """Punches of known employees in processing order (employee, instant, device, direction)."""

    row: np.ndarray  # position in the input frame
    employee: np.ndarray  # employee code (index into Occurrences.employee_ids)
    instant: np.ndarray  # int64 ns UTC
    opens: np.ndarray  # int8: 1 opens an interval, 0 closes one, -1 no direction
    unknown_rows: np.ndarray  # input positions of punches of employees not in the table


def _instants_ns(column: pd.Series) -> np.ndarray:
    index = pd.DatetimeIndex(column)
    if index.tz is None:
        raise ValueError("punch instants must be timezone-aware (UTC)")
    return np.asarray(index.tz_convert("UTC").as_unit("ns").asi8, dtype=np.int64)


def punch_stream(punches: pd.DataFrame, occurrences: Occurrences) -> PunchStream:
    """Order the punches deterministically, whatever order the input rows came in."""
    employee = np.asarray(
        pd.Index(occurrences.employee_ids).get_indexer(punches["employee_id"].astype(str)), dtype=np.int64
    )
    instant = _instants_ns(punches["instant"])
    device = pd.factorize(punches["device_id"].astype(str), sort=True)[0]
    direction = punches["direction"] if "direction" in punches else pd.Series([None] * len(punches))
    direction_rank = np.asarray(
        pd.Index(DIRECTIONS).get_indexer(direction.where(direction.notna(), "")), dtype=np.int64
    )
    known = np.flatnonzero(employee >= 0)
    order = known[np.lexsort((direction_rank[known], device[known], instant[known], employee[known]))]
    opens = np.where(
        direction_rank < 0,
        -1,
        np.isin(direction_rank, [DIRECTIONS.index(d) for d in OPENING_DIRECTIONS]).astype(np.int64),
    ).astype(np.int8)
    return PunchStream(
        row=order,
        employee=employee[order],
        instant=instant[order],
        opens=opens[order],
        unknown_rows=np.flatnonzero(employee < 0),
    )


def debounce(stream: PunchStream, debounce_seconds: int) -> np.ndarray:
    """Which punches are kept: a punch closer than the debounce to the previous kept one is dropped."""
    n = len(stream.instant)
    limit = debounce_seconds * NS_PER_SECOND
    close = np.zeros(n, dtype=bool)
    if n > 1:
        same = stream.employee[1:] == stream.employee[:-1]
        close[1:] = same & (np.diff(stream.instant) < limit)
    kept = ~close
    if not close.any():
        return kept
    # A burst of three or more needs the chain: each punch is measured from the last *kept* one.
    cluster = np.cumsum(~close) - 1
    sizes = np.bincount(cluster)
    starts = np.flatnonzero(~close)
    for c in np.flatnonzero(sizes >= 3).tolist():
        first = int(starts[c])
        times = stream.instant[first : first + int(sizes[c])].tolist()
        last_kept = times[0]
        for offset, moment in enumerate(times[1:], start=1):
            if moment - last_kept >= limit:
                kept[first + offset] = True
                last_kept = moment
    return kept


def assign_to_occurrences(stream: PunchStream, occurrences: Occurrences) -> np.ndarray:
    """The occurrence (flat grid index) whose window holds each punch, or -1 (docs/rules.md, 3)."""
    n_days = occurrences.n_days
    n_emp = len(occurrences.employee_ids)
    if len(stream.instant) == 0 or n_emp == 0:
        return np.full(len(stream.instant), -1, dtype=np.int64)
    start, end = occurrences.start, occurrences.end
    # Search key in whole seconds, employee-major; shift starts are whole seconds, so comparing a
    # start with a punch's floored second is exact.
    start_s = start // NS_PER_SECOND
    origin = int(start_s.min()) - _DAY_SECONDS
    span = int(start_s.max()) - origin + 2 * _DAY_SECONDS
    occ_key = np.repeat(np.arange(n_emp, dtype=np.int64) * span, n_days) + (start_s - origin)
    offset = np.clip(stream.instant // NS_PER_SECOND - origin, 0, span - 1)
    punch_key = stream.employee * span + offset
    last_started = np.searchsorted(occ_key, punch_key, side="right") - 1
    day = np.maximum(last_started - stream.employee * n_days, -1)

    t = stream.instant
    winner = np.full(len(t), -1, dtype=np.int64)
    for step in (-2, -1, 0, 1, 2):
        candidate_day = day + step
        valid = (candidate_day >= 0) & (candidate_day < n_days)
        candidate = np.where(valid, stream.employee * n_days + candidate_day, 0)
        holds = valid & (occurrences.lo[candidate] <= t) & (t <= occurrences.hi[candidate])
        previous = np.maximum(winner, 0)
        boundary = (end[previous] + start[candidate]) // 2
        take = holds & ((winner < 0) | (t > boundary))
        winner = np.where(take, candidate, winner)
    return winner
