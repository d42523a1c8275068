"""The vectorised rules engine: all employees and days at once, with numpy over flat arrays.

`compute_days` runs the steps of docs/rules.md in order: occurrences (calendar.py), debounce
and assignment (assign.py), pairing and rounding (pairing.py), then worked time, lateness, overtime,
status and loss of pay here. It is a pure function of its inputs: the same rows in any order give
the same output.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa

from punchbridge.rules.assign import assign_to_occurrences, debounce, punch_stream
from punchbridge.rules.calendar import DAY_TYPES, Occurrences, build_occurrences
from punchbridge.rules.clock import ISO_WIDTH, NS_PER_DAY, NS_PER_MINUTE, IsoTexts, local_wall_ns, string_array
from punchbridge.rules.frames import ANOMALY_CODES, DAY_COLUMNS, AttendanceInputs, DaysResult
from punchbridge.rules.intervals import BOUND_SEPARATOR, INTERVAL_SEPARATOR
from punchbridge.rules.pairing import Intervals, pair_intervals, round_first_and_last
from punchbridge.rules.settings import RuleSet

__all__ = ["PUNCHES_AT_ONCE", "compute_days"]

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
#: Above this many punches, `compute_days` works through the employees in groups (`rules.groups`).
PUNCHES_AT_ONCE = 1 << 18
_INTERVALS_AT_ONCE = 1 << 16  # intervals formatted per block: their byte matrices stay small
_FLAG_CODES = ANOMALY_CODES[1:]  # every code but duplicates, which carries a count
_FLAG_TEXT = np.array(
    [
        ";".join(code for bit, code in enumerate(_FLAG_CODES) if mask >> bit & 1)
        for mask in range(1 << len(_FLAG_CODES))
    ],
    dtype=object,
)


def compute_days(
    inputs: AttendanceInputs,
    rules: RuleSet,
    date_from: date,
    date_to: date,
    *,
    punches_at_once: int = PUNCHES_AT_ONCE,
) -> DaysResult:
    """Processed days for every employee and date in `[date_from, date_to]`, and off-shift punches.

    More than `punches_at_once` punches are computed a group of employees at a time (an employee's
    days depend on their own punches only), so the engine's working memory stays bounded; the
    result is the same whatever the groups.
    """
    if date_to < date_from:
        raise ValueError(f"date_to {date_to} is before date_from {date_from}")
    if len(inputs.punches) <= punches_at_once:
        return _compute(inputs, rules, date_from, date_to)
    from punchbridge.rules.groups import compute_in_groups

    return compute_in_groups(inputs, punches_at_once, lambda part: _compute(part, rules, date_from, date_to))


def _compute(inputs: AttendanceInputs, rules: RuleSet, date_from: date, date_to: date) -> DaysResult:
    occurrences = build_occurrences(inputs, rules, date_from, date_to)
    zones = [rules.sites[name].timezone for name in occurrences.site_names]
    stream = punch_stream(inputs.punches, occurrences)
    kept = debounce(stream, rules.pairing.debounce_seconds)
    owner = assign_to_occurrences(stream, occurrences)

    held = kept & (owner >= 0)
    intervals = pair_intervals(
        owner[held], stream.instant[held], stream.opens[held], occurrences, rules.pairing.direction == "auto"
    )
    round_first_and_last(intervals, occurrences, zones)
    duplicates = np.bincount(owner[~kept & (owner >= 0)], minlength=occurrences.size)

    unplaced = np.flatnonzero(kept & (owner < 0))
    in_range = _local_date_in_range(
        stream.instant[unplaced], stream.employee[unplaced], occurrences, zones, date_from, date_to
    )
    off_shift = _quarantine(inputs.punches, stream.row[unplaced[in_range]], "off_shift")
    unknown = _quarantine(inputs.punches, stream.unknown_rows, "unknown_employee")
    resent = _quarantine(inputs.punches, stream.resent_rows, "duplicate_punch")
    if len(resent):
        resent["same_as"] = stream.resent_of
    parts = [part for part in (off_shift, unknown, resent) if len(part)]
    quarantine = pd.concat(parts, ignore_index=True) if parts else off_shift
    # The per-punch arrays are not needed for the output rows: freed before the texts are built,
    # which is when the engine's memory peaks.
    del stream, kept, owner, held, unplaced, in_range

    days = _measure(occurrences, intervals, duplicates)
    frame = _day_frame(occurrences, days, zones, rules.version(), intervals)
    return DaysResult(days=frame, quarantine=quarantine)


def _per_occurrence_sum(intervals: Intervals, values: np.ndarray, size: int) -> np.ndarray:
    return np.bincount(intervals.occurrence, weights=values, minlength=size).astype(np.int64)


def _overlap_minutes(start: np.ndarray, end: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    return np.maximum(0, np.minimum(end, hi) - np.maximum(start, lo)) // NS_PER_MINUTE


def _measure(occ: Occurrences, iv: Intervals, duplicates: np.ndarray) -> dict[str, np.ndarray]:
    """Sections 6 to 11 of docs/rules.md for every occurrence of the grid."""
    size = occ.size
    closed = iv.closed
    start = iv.start
    end = np.where(closed, iv.end, start)  # an open interval counts nothing
    gross = _per_occurrence_sum(iv, np.maximum(0, end - start) // NS_PER_MINUTE, size)

    fixed = np.zeros(size, dtype=np.int64)
    for b in range(occ.break_start.shape[1]):
        b_start = occ.break_start[iv.occurrence, b]
        b_end = occ.break_end[iv.occurrence, b]
        has_break = b_start != np.iinfo(np.int64).min
        fixed += _per_occurrence_sum(iv, np.where(has_break, _overlap_minutes(start, end, b_start, b_end), 0), size)
    auto_after = occ.setting(lambda s: s.auto_break.after if s.auto_break else -1)
    auto_minutes = occ.setting(lambda s: s.auto_break.minutes if s.auto_break else 0)
    auto = (fixed == 0) & (auto_after >= 0) & (gross >= auto_after)
    break_minutes = np.where(auto, auto_minutes, fixed)
    worked = np.maximum(0, gross - break_minutes)

    shift_start = occ.start[iv.occurrence]
    shift_end = occ.end[iv.occurrence]
    big = np.iinfo(np.int64).max
    after = _per_occurrence_sum(iv, _overlap_minutes(start, end, shift_end, np.full_like(start, big)), size)
    before = _per_occurrence_sum(iv, _overlap_minutes(start, end, np.full_like(start, -big), shift_start), size)
    workday = occ.day_type == 0
    early = occ.setting(lambda s: s.ot.early).astype(bool)
    off_days_ot = occ.setting(lambda s: s.ot.off_days).astype(bool)
    ot_raw = np.where(workday, after + np.where(early, before, 0), np.where(off_days_ot, worked, 0))
    ot_min = occ.setting(lambda s: s.ot.min)
    ot_unit = occ.setting(lambda s: s.ot.unit)
    ot_cap = occ.setting(lambda s: s.ot.cap)
    ot = np.where(ot_raw < ot_min, 0, np.minimum(ot_raw // ot_unit * ot_unit, ot_cap))
    regular = np.maximum(0, worked - ot_raw)

    has_first = iv.first >= 0
    has_last = iv.last_closed >= 0
    first_in = _take_or_zero(iv.start, iv.first)
    last_out = _take_or_zero(iv.end, iv.last_closed)
    grace_in = occ.setting(lambda s: s.grace_in) * NS_PER_MINUTE
    grace_out = occ.setting(lambda s: s.grace_out) * NS_PER_MINUTE
    late = np.where(workday & has_first & (first_in > occ.start + grace_in), (first_in - occ.start) // NS_PER_MINUTE, 0)
    early_exit = np.where(
        workday & has_last & (last_out < occ.end - grace_out), (occ.end - last_out) // NS_PER_MINUTE, 0
    )

    status, short_shift = _status(occ, worked, iv.punch_count > 0)
    on_leave = occ.leave_days >= 1
    base_lop = np.select([status == _ABSENT, status == _HALF_DAY], [1.0, 0.5], 0.0)
    flags = (
        iv.missing_in.astype(np.int64)
        | iv.missing_out.astype(np.int64) << 1
        | iv.repeated_in.astype(np.int64) << 2
        | short_shift.astype(np.int64) << 3
        | (on_leave & (iv.punch_count > 0)).astype(np.int64) << 4
    )
    return {
        "status": status,
        "first_in": first_in,
        "has_first": has_first,
        "last_out": last_out,
        "has_last": has_last,
        "worked_minutes": worked,
        "regular_minutes": regular,
        "ot_minutes": ot,
        "break_minutes": break_minutes,
        "late_minutes": late,
        "early_exit_minutes": early_exit,
        "leave_days": occ.leave_days,
        "lop_days": np.minimum(1.0, base_lop + occ.unpaid_leave_days),
        "punch_count": iv.punch_count,
        "flags": flags,
        "duplicates": duplicates,
    }


def _take_or_zero(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    """`values[index]` where index >= 0, else 0 (also when `values` is empty)."""
    if len(values) == 0:
        return np.zeros(len(index), dtype=np.int64)
    return np.where(index >= 0, values[np.maximum(index, 0)], 0)


#: The statuses a day can have: `_status` gives codes into this list (day types come last, in order).
_STATUS_NAMES = ("absent", "half_day", "present", "on_leave", *DAY_TYPES)
_ABSENT, _HALF_DAY, _PRESENT, _ON_LEAVE, _FIRST_DAY_TYPE = range(5)


def _status(occ: Occurrences, worked: np.ndarray, has_punch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Section 10 of docs/rules.md: the day's status (a code into `_STATUS_NAMES`), and whether
    `short_shift` applies."""
    absent_below = occ.setting(lambda s: s.absent_below)
    half_day_below = occ.setting(lambda s: s.half_day_below)
    full_leave = occ.leave_days >= 1
    half_leave = occ.leave_days == 0.5
    off_day = occ.day_type != 0
    short = worked < absent_below
    by_worked = np.where(short, _ABSENT, np.where(worked < half_day_below, _HALF_DAY, _PRESENT))
    status = np.select(
        [
            full_leave,
            off_day & has_punch,
            off_day,
            half_leave & has_punch & ~short,
            half_leave,
            ~has_punch,
        ],
        [_ON_LEAVE, _PRESENT, _FIRST_DAY_TYPE + occ.day_type.astype(np.int64), _PRESENT, _HALF_DAY, _ABSENT],
        by_worked,
    )
    return status, ~full_leave & ~off_day & has_punch & short


def _day_frame(
    occ: Occurrences, days: dict[str, np.ndarray], zones: list[str], rules_version: str, intervals: Intervals
) -> pd.DataFrame:
    """The output rows: days inside the requested range, in the order of `DAY_COLUMNS`.

    Text columns with few distinct values are categoricals and the times are Arrow-backed text:
    building 10^5 rows of Python strings would cost more than the whole rules computation.
    """
    grid_day = np.tile(np.arange(occ.n_days), len(occ.employee_ids))
    rows = np.flatnonzero((grid_day >= occ.first_output_day) & (grid_day <= occ.last_output_day))
    employee = rows // occ.n_days
    site = occ.employee_site[employee]
    dates = [(occ.base_day + timedelta(days=d)).isoformat() for d in range(occ.n_days)]

    def text(codes: np.ndarray, names: list[str] | tuple[str, ...] | np.ndarray) -> pd.Categorical:
        return pd.Categorical.from_codes(np.asarray(codes), categories=pd.Index(list(names), dtype=object))

    columns: dict[str, object] = {
        "employee_id": text(employee, occ.employee_ids),
        "work_date": text(grid_day[rows], dates),
        "site": text(site, occ.site_names),
        "shift": text(occ.shift[rows], occ.shift_names),
        "day_type": text(occ.day_type[rows], DAY_TYPES),
        "status": text(*_present_in_text_order(days["status"][rows], _STATUS_NAMES)),
        "first_in": _local_times(days["first_in"][rows], days["has_first"][rows], site, zones),
        "last_out": _local_times(days["last_out"][rows], days["has_last"][rows], site, zones),
    }
    for name in DAY_COLUMNS[8:17]:
        columns[name] = days[name][rows]
    columns["anomalies"] = text(*_anomaly_texts(days["flags"][rows], days["duplicates"][rows]))
    columns["recomputed"] = np.zeros(len(rows), dtype=bool)
    columns["rules_version"] = text(np.zeros(len(rows), dtype=np.int64), [rules_version])
    columns["intervals"] = _interval_texts(intervals, occ, zones, rows).to_pandas()
    frame = pd.DataFrame(columns, columns=list(DAY_COLUMNS))
    for name in ("leave_days", "lop_days"):
        frame[name] = frame[name].astype(float)
    return frame


def _interval_texts(intervals: Intervals, occ: Occurrences, zones: list[str], rows: np.ndarray) -> pa.Array:
    """For the occurrences `rows` (ascending), the `intervals` text of their worked intervals
    (`punchbridge.rules.intervals`) in the site's local time; an open interval has no end, an
    occurrence without intervals gets ''. Built as one byte buffer: no string per interval."""
    position = np.full(occ.size, -1, dtype=np.int64)
    position[rows] = np.arange(len(rows))
    row_of = position[intervals.occurrence]
    keep = np.flatnonzero(row_of >= 0)
    row_of = row_of[keep]
    site = occ.employee_site[intervals.occurrence[keep] // occ.n_days]
    more = np.zeros(len(keep), dtype=bool)  # another interval of the same day follows
    more[:-1] = row_of[1:] == row_of[:-1]
    piece_lengths = np.zeros(len(keep), dtype=np.int64)
    data = np.empty(len(keep) * (2 * ISO_WIDTH + 2), dtype=np.uint8)  # the longest the texts can be
    filled = 0
    for first in range(0, len(keep), _INTERVALS_AT_ONCE):  # the byte matrices of a block at a time
        part = slice(first, first + _INTERVALS_AT_ONCE)
        chosen = keep[part]
        starts = _iso_texts(intervals.start[chosen], np.ones(len(chosen), dtype=bool), site[part], zones)
        ends = _iso_texts(intervals.end[chosen], intervals.closed[chosen], site[part], zones)
        pieces = np.empty((len(chosen), 2 * ISO_WIDTH + 2), dtype=np.uint8)
        pieces[:, :ISO_WIDTH] = starts.matrix
        pieces[:, ISO_WIDTH] = ord(BOUND_SEPARATOR)
        pieces[:, ISO_WIDTH + 1 : -1] = ends.matrix
        pieces[:, -1] = ord(INTERVAL_SEPARATOR)
        follows = more[part, None]
        used = np.concatenate([starts.used(), np.ones_like(follows), ends.used(), follows], axis=1)
        block = pieces[used]
        data[filled : filled + len(block)] = block
        filled += len(block)
        piece_lengths[part] = starts.lengths + 1 + ends.lengths + more[part]
    lengths = np.bincount(row_of, weights=piece_lengths, minlength=len(rows)).astype(np.int64)
    return string_array(data[:filled], lengths)


def _present_in_text_order(codes: np.ndarray, names: tuple[str, ...]) -> tuple[np.ndarray, list[str]]:
    """Codes into the names that occur, in text order (as a factorisation of the texts would give)."""
    used = np.flatnonzero(np.bincount(codes, minlength=len(names)))
    return _in_text_order(np.searchsorted(used, codes), [names[i] for i in used.tolist()])


def _in_text_order(codes: np.ndarray, names: list[str]) -> tuple[np.ndarray, list[str]]:
    """The same texts with `names` sorted and `codes` pointing into the sorted list."""
    by_text = np.argsort(np.asarray(names, dtype=object), kind="stable")
    new_code = np.empty(len(names), dtype=np.int64)
    new_code[by_text] = np.arange(len(names))
    return new_code[codes], [names[i] for i in by_text.tolist()]


def _anomaly_texts(flags: np.ndarray, duplicates: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Anomaly text per row, as codes into the few distinct texts (sorted codes joined by ';'),
    listed in the order of `frames.anomaly_rank`."""
    combined = flags.astype(np.int64) + (duplicates.astype(np.int64) << 8)
    if len(combined) and combined.max() < 1 << 16:  # the usual case: few re-sends a day, count instead of sort
        unique = np.flatnonzero(np.bincount(combined))
        codes = np.searchsorted(unique, combined)
    else:
        unique, codes = np.unique(combined, return_inverse=True)
    names = []
    for value in unique.tolist():
        parts = [f"duplicates:{value >> 8}"] if value >> 8 else []
        flag_text = _FLAG_TEXT[value & 0xFF]
        names.append(";".join([*parts, flag_text]) if flag_text else ";".join(parts))
    return codes.ravel(), names


def _iso_texts(instants: np.ndarray, present: np.ndarray, site: np.ndarray, zones: list[str]) -> IsoTexts:
    """Local ISO-8601 texts per row in the zone of its site ('' where not present)."""
    texts = IsoTexts.empty(len(instants))
    for code in np.unique(site).tolist():
        chosen = np.flatnonzero(site == code)
        texts.fill(chosen, instants[chosen], zones[code], present[chosen])
    return texts


def _local_times(instants: np.ndarray, present: np.ndarray, site: np.ndarray, zones: list[str]) -> pd.Series:
    """Local ISO-8601 texts per row in the zone of its site ('' where not present)."""
    if not len(instants):
        return pd.Series([], dtype=object)
    return _iso_texts(instants, present, site, zones).strings().to_pandas()


def _local_date_in_range(
    instant: np.ndarray,
    employee: np.ndarray,
    occ: Occurrences,
    zones: list[str],
    date_from: date,
    date_to: date,
) -> np.ndarray:
    inside = np.zeros(len(instant), dtype=bool)
    site = occ.employee_site[employee] if len(employee) else np.zeros(0, dtype=np.int64)
    first = date_from.toordinal() - _EPOCH_ORDINAL
    last = date_to.toordinal() - _EPOCH_ORDINAL
    for code in np.unique(site).tolist():
        chosen = site == code
        local_day = local_wall_ns(instant[chosen], zones[code]) // NS_PER_DAY
        inside[chosen] = (local_day >= first) & (local_day <= last)
    return inside


def _quarantine(punches: pd.DataFrame, rows: np.ndarray, reason: str) -> pd.DataFrame:
    picked = punches.iloc[np.asarray(rows, dtype=np.int64)].copy()
    picked["reason"] = reason
    return picked.reset_index(drop=True)
