"""Sections 3 and 2 of docs/rules.md: debounce the punch stream and give each punch to its occurrence."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from punchbridge.rules.calendar import Occurrences
from punchbridge.rules.clock import NS_PER_SECOND
from punchbridge.rules.frames import DIRECTIONS, OPENING_DIRECTIONS

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
    resent_rows: np.ndarray  # input positions of exact re-sends (same employee, device, instant)
    resent_of: np.ndarray  # for each re-send, the input position of the punch that was kept


def _instants_ns(column: pd.Series) -> np.ndarray:
    index = pd.DatetimeIndex(column)
    if index.tz is None:
        raise ValueError("punch instants must be timezone-aware (UTC)")
    return np.asarray(index.tz_convert("UTC").as_unit("ns").asi8, dtype=np.int64)


def _codes(values: pd.Series, names: Sequence[str] | np.ndarray) -> np.ndarray:
    """Position of each value in `names` (-1 when absent or missing), via categories: fast for 10^6 rows."""
    categorical = values if isinstance(values.dtype, pd.CategoricalDtype) else values.astype("category")
    lookup = np.append(pd.Index(names).get_indexer(categorical.cat.categories.astype(str)), -1)
    return np.asarray(lookup[categorical.cat.codes.to_numpy()], dtype=np.int64)


def _sort_rank(values: pd.Series) -> np.ndarray:
    """Rank of each value in the sorted order of the distinct values (so input order never matters)."""
    categorical = values if isinstance(values.dtype, pd.CategoricalDtype) else values.astype("category")
    categories = np.asarray(categorical.cat.categories.astype(str), dtype=object)
    rank = np.empty(len(categories) + 1, dtype=np.int64)
    rank[np.argsort(categories, kind="stable")] = np.arange(len(categories))
    rank[-1] = -1
    return rank[categorical.cat.codes.to_numpy()]


def _break_ties(
    order: np.ndarray, employee: np.ndarray, instant: np.ndarray, device: np.ndarray, direction: np.ndarray
) -> None:
    """Within runs of equal (employee, instant), order by device, direction, then input row, in place."""
    e, t = employee[order], instant[order]
    tied = np.zeros(len(order), dtype=bool)
    tied[1:] = (e[1:] == e[:-1]) & (t[1:] == t[:-1])
    if not tied.any():
        return
    members = tied.copy()
    members[:-1] |= tied[1:]
    positions = np.flatnonzero(members)
    subset = order[positions]
    # Runs keep their places: their (employee, instant) keys already sort them.
    # Exact copies (same device and direction too) keep input order: the earliest row is the one used.
    keys = (subset, direction[subset], device[subset], instant[subset], employee[subset])
    order[positions] = subset[np.lexsort(keys)]


def _employee_major(known: np.ndarray, employee: np.ndarray, instant: np.ndarray) -> np.ndarray:
    """`known` ordered by (employee, instant); ties of both in any order (`_break_ties` settles them).

    Sort by instant, then stably by employee code: the second sort is a radix sort on small
    integers, so the whole costs about one sort of the instants.
    """
    by_instant = known[np.argsort(instant[known])]
    codes = employee[by_instant]
    small = codes.astype(np.int16) if len(codes) and codes.max() < np.iinfo(np.int16).max else codes
    return by_instant[np.argsort(small, kind="stable")]


def punch_stream(punches: pd.DataFrame, occurrences: Occurrences) -> PunchStream:
    """Order the punches deterministically, whatever order the input rows came in."""
    employee = _codes(punches["employee_id"], occurrences.employee_ids)
    instant = _instants_ns(punches["instant"])
    device = _sort_rank(punches["device_id"])
    if "direction" in punches:
        direction_rank = _codes(punches["direction"], DIRECTIONS)
    else:
        direction_rank = np.full(len(punches), -1, dtype=np.int64)
    known = np.flatnonzero(employee >= 0)
    order = _employee_major(known, employee, instant)
    _break_ties(order, employee, instant, device, direction_rank)
    e, t, d = employee[order], instant[order], device[order]
    resent = np.zeros(len(order), dtype=bool)
    resent[1:] = (e[1:] == e[:-1]) & (t[1:] == t[:-1]) & (d[1:] == d[:-1])
    first_of_run = np.maximum.accumulate(np.where(resent, 0, np.arange(len(order))))
    opening = np.array([d in OPENING_DIRECTIONS for d in DIRECTIONS] + [False])
    opens = np.where(direction_rank < 0, -1, opening[direction_rank]).astype(np.int8)
    kept = order[~resent]
    return PunchStream(
        row=kept,
        employee=employee[kept],
        instant=instant[kept],
        opens=opens[kept],
        unknown_rows=np.flatnonzero(employee < 0),
        resent_rows=order[resent],
        resent_of=order[first_of_run[resent]],
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
    """The occurrence (flat grid index) whose window holds each punch, or -1 (docs/rules.md, section 2)."""
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
