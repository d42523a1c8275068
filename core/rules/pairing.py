"""Sections 4 and 5 of docs/rules.md: pair the punches of each occurrence into intervals, then round.

Every pairing mode reduces to the same shape: a list of *events* per occurrence that alternate
open, close, open, close... `alternate` uses every punch; directions keep an `in` only when nothing
is open and an `out` only when something is; `first_last` keeps the first and the last punch. An
odd number of events leaves the last interval open (`missing_out`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from punchbridge.rules.calendar import Occurrences
from punchbridge.rules.clock import NS_PER_DAY, NS_PER_MINUTE, local_wall_ns

__all__ = ["Intervals", "pair_intervals", "round_first_and_last"]

ALTERNATE, DIRECTIONS, FIRST_LAST = 0, 1, 2


@dataclass
class Intervals:
    """Worked intervals, ordered by occurrence then time, and what pairing found per occurrence."""

    occurrence: np.ndarray  # flat occurrence index per interval
    start: np.ndarray  # ns
    end: np.ndarray  # ns; meaningful where `closed`
    closed: np.ndarray
    first: np.ndarray  # interval index of each occurrence's first interval (-1 if none)
    last_closed: np.ndarray  # interval index of each occurrence's last closed interval (-1 if none)
    punch_count: np.ndarray  # per occurrence
    missing_out: np.ndarray  # per occurrence
    missing_in: np.ndarray
    repeated_in: np.ndarray


def _group_positions(groups: np.ndarray) -> np.ndarray:
    """Position of each element within its run of equal, sorted group values."""
    n = len(groups)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    new = np.ones(n, dtype=bool)
    new[1:] = groups[1:] != groups[:-1]
    starts = np.flatnonzero(new)
    return np.arange(n) - np.repeat(starts, np.diff(np.append(starts, n)))


def pair_intervals(
    occurrence: np.ndarray,
    instant: np.ndarray,
    opens: np.ndarray,
    occurrences: Occurrences,
    use_directions: bool,
) -> Intervals:
    """Pair kept punches (already in time order within each occurrence) into intervals."""
    size = occurrences.size
    order = np.argsort(occurrence, kind="stable")
    occ, t, opens = occurrence[order], instant[order], opens[order]
    count = np.bincount(occ, minlength=size)
    position = _group_positions(occ)

    undirected = np.bincount(occ, weights=(opens < 0), minlength=size) > 0
    first_last = occurrences.setting(lambda s: s.hours_from == "first_last").astype(bool)
    mode = np.where(first_last, FIRST_LAST, np.where(use_directions & ~undirected, DIRECTIONS, ALTERNATE))
    punch_mode = mode[occ]

    is_in = opens == 1
    was_open = np.zeros(len(occ), dtype=bool)
    was_open[1:] = is_in[:-1]
    was_open &= position > 0
    directed = punch_mode == DIRECTIONS
    event = np.where(
        punch_mode == FIRST_LAST,
        (position == 0) | (position == count[occ] - 1),
        np.where(directed, is_in != was_open, True),
    )
    repeated_in = np.bincount(occ, weights=directed & is_in & was_open, minlength=size) > 0
    missing_in = np.bincount(occ, weights=directed & ~is_in & ~was_open, minlength=size) > 0

    ev_occ, ev_t = occ[event], t[event]
    ev_pos = _group_positions(ev_occ)
    n_events = np.bincount(ev_occ, minlength=size)
    opening = np.flatnonzero(ev_pos % 2 == 0)
    iv_occ = ev_occ[opening]
    closed = ev_pos[opening] + 1 < n_events[iv_occ]
    iv_end = np.where(closed, ev_t[np.minimum(opening + 1, len(ev_t) - 1)], 0)
    iv_start = ev_t[opening]
    missing_out = n_events % 2 == 1

    at_shift_end = occurrences.setting(lambda s: s.missing_out == "shift_end").astype(bool)
    occ_end = occurrences.end[iv_occ]
    close_at_end = ~closed & at_shift_end[iv_occ] & (iv_start < occ_end)
    iv_end = np.where(close_at_end, occ_end, iv_end)
    closed = closed | close_at_end

    first = np.full(size, -1, dtype=np.int64)
    is_first = ev_pos[opening] == 0
    first[iv_occ[is_first]] = np.flatnonzero(is_first)
    last_closed = np.full(size, -1, dtype=np.int64)
    closed_index = np.flatnonzero(closed)
    last_closed[iv_occ[closed_index]] = closed_index  # later intervals overwrite earlier ones

    return Intervals(
        occurrence=iv_occ,
        start=iv_start,
        end=iv_end,
        closed=closed,
        first=first,
        last_closed=last_closed,
        punch_count=count,
        missing_out=missing_out,
        missing_in=missing_in,
        repeated_in=repeated_in,
    )


def _round_on_local_grid(
    instants: np.ndarray,
    occ: np.ndarray,
    modes: np.ndarray,
    units: np.ndarray,
    occurrences: Occurrences,
    zones: list[str],
) -> np.ndarray:
    """Move instants to the local grid of `units` minutes by `modes` ('up', 'down', 'nearest')."""
    site = occurrences.employee_site[occ // occurrences.n_days]
    wall = np.empty_like(instants)
    for code in np.unique(site).tolist():
        chosen = site == code
        wall[chosen] = local_wall_ns(instants[chosen], zones[code])
    unit = units * NS_PER_MINUTE
    rem = np.mod(np.mod(wall, NS_PER_DAY), unit)
    up = np.where(rem > 0, unit - rem, 0)
    delta = np.select([modes == "up", modes == "down"], [up, -rem], np.where(2 * rem >= unit, unit - rem, -rem))
    return instants + delta


def round_first_and_last(intervals: Intervals, occurrences: Occurrences, zones: list[str]) -> None:
    """Section 5 of docs/rules.md: round each occurrence's first_in and last_out in place, where its shift rounds."""
    unit = occurrences.setting(lambda s: s.rounding.unit if s.rounding else 0)
    in_mode = occurrences.setting(lambda s: s.rounding.in_ if s.rounding else "")
    out_mode = occurrences.setting(lambda s: s.rounding.out if s.rounding else "")
    rounded = unit > 0
    first = intervals.first[rounded & (intervals.first >= 0)]
    if first.size:
        occ = intervals.occurrence[first]
        intervals.start[first] = _round_on_local_grid(
            intervals.start[first], occ, in_mode[occ], unit[occ], occurrences, zones
        )
    last = intervals.last_closed[rounded & (intervals.last_closed >= 0)]
    if last.size:
        occ = intervals.occurrence[last]
        intervals.end[last] = _round_on_local_grid(
            intervals.end[last], occ, out_mode[occ], unit[occ], occurrences, zones
        )
