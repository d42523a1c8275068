"""The reference implementation (oracle) of the attendance rules engine.

It follows `attendance-rules.md` (steps 0 to 10) and the readings of docs/rules.md literally, one
employee-day at a time, in plain Python: no vectorisation, no shared code with the fast engine
beyond the settings models and the frame definitions. Instants are integers (nanoseconds since the
Unix epoch, UTC) so midpoints and `floor(seconds / 60)` are exact. The property tests hold
`punchbridge.rules.compute_days` equal to `oracle_compute_days` row for row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd

from punchbridge.rules.frames import DAY_COLUMNS, DIRECTIONS, AttendanceInputs, DaysResult
from punchbridge.rules.settings import WEEKDAYS, RuleSet, Shift, Site, parse_weekdays

NS_PER_SECOND = 1_000_000_000
NS_PER_MINUTE = 60 * NS_PER_SECOND
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
OPENING = frozenset({"in", "break_in", "ot_in"})
INT_COLUMNS = (*(c for c in DAY_COLUMNS if c.endswith("_minutes")), "punch_count")


@dataclass(frozen=True)
class Punch:
    """One punch: its row position in the input frame, instant (ns UTC), device and direction."""

    position: int
    instant: int
    device_id: str
    direction: str | None


@dataclass
class Interval:
    """A worked interval in ns; `end` is None while it is open."""

    start: int
    end: int | None


@dataclass
class Occurrence:
    """One shift occurrence: the shift started on local date `work_date`, and what it claimed."""

    work_date: date
    shift_name: str
    shift: Shift
    start: int
    end: int
    window_start: int
    window_end: int
    punches: list[Punch] = field(default_factory=list)
    duplicates: int = 0


@dataclass(frozen=True)
class Employee:
    """An employee with their site resolved: zone, weekly off days, default shift, assignments."""

    employee_id: str
    site_name: str
    site: Site
    zone: ZoneInfo
    weekly_off: tuple[str, ...]
    default_shift: str
    assignments: tuple[tuple[date, date, str], ...]


def datetime_to_ns(moment: datetime) -> int:
    """Nanoseconds since the epoch of an aware datetime (microsecond precision)."""
    return (moment - EPOCH) // timedelta(microseconds=1) * 1000


def local_to_ns(day: date, minute_of_day: int, zone: ZoneInfo) -> int:
    """Instant of a local wall time; fold=0: gaps move forward, ambiguous times take the first."""
    hour, minute = divmod(minute_of_day, 60)
    return datetime_to_ns(datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone, fold=0))


def ns_to_local(instant: int, zone: ZoneInfo) -> tuple[datetime, int]:
    """Local datetime (whole seconds, floored) of an instant, and the nanoseconds left over."""
    seconds, rest = divmod(instant, NS_PER_SECOND)
    return (EPOCH + timedelta(seconds=seconds)).astimezone(zone), rest


def local_iso(instant: int | None, zone: ZoneInfo) -> str:
    """Local ISO-8601 to the second with offset (sub-second truncated), '' for None."""
    return "" if instant is None else ns_to_local(instant, zone)[0].isoformat()


def as_date(value: object) -> date:
    """A datetime.date from a date, datetime or anything pandas reads as a timestamp."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return pd.Timestamp(value).date()


def is_missing(value: object) -> bool:
    """True for None, NaN and pandas' NA."""
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def shift_name_on(employee: Employee, day: date) -> str:
    """The dated assignment covering `day` (from/to inclusive), else the default shift."""
    for first, last, name in employee.assignments:
        if first <= day <= last:
            return name
    return employee.default_shift


def make_occurrence(employee: Employee, day: date, rules: RuleSet) -> Occurrence:
    """The occurrence starting on local date `day`, with its closed window."""
    name = shift_name_on(employee, day)
    shift = rules.shifts[name]
    end_day = day + timedelta(days=1) if shift.crosses_midnight else day
    start = local_to_ns(day, shift.start, employee.zone)
    end = local_to_ns(end_day, shift.end, employee.zone)
    before, after = shift.window_before * NS_PER_MINUTE, shift.window_after * NS_PER_MINUTE
    return Occurrence(day, name, shift, start, end, window_start=start - before, window_end=end + after)


def build_occurrences(employee: Employee, rules: RuleSet, date_from: date, date_to: date) -> list[Occurrence]:
    """One occurrence per local date from date_from - 2 to date_to + 2 (reading 2), in start order."""
    days = (date_to - date_from).days + 5
    occurrences = [make_occurrence(employee, date_from + timedelta(days=i - 2), rules) for i in range(days)]
    return sorted(occurrences, key=lambda occ: occ.start)


def find_occurrence(instant: int, occurrences: list[Occurrence]) -> Occurrence | None:
    """The occurrence owning an instant: windows holding it, resolved pairwise by midpoint (reading 3)."""
    winner = None
    for occ in occurrences:  # in start order
        if not occ.window_start <= instant <= occ.window_end:
            continue
        if winner is None or instant > (winner.end + occ.start) // 2:
            winner = occ
    return winner


def chain_key(punch: Punch) -> tuple:
    """Order of the debounce chain: instant, device_id, direction (digit order, missing first)."""
    return (punch.instant, punch.device_id, -1 if punch.direction is None else DIRECTIONS.index(punch.direction))


def debounce(punches: list[Punch], seconds: int) -> tuple[list[Punch], list[Punch]]:
    """Split into (kept, dropped): a punch closer than `seconds` to the previous kept one drops."""
    kept: list[Punch] = []
    dropped: list[Punch] = []
    for punch in sorted(punches, key=chain_key):
        if kept and punch.instant - kept[-1].instant < seconds * NS_PER_SECOND:
            dropped.append(punch)
        else:
            kept.append(punch)
    return kept, dropped


def pair_alternate(punches: list[Punch]) -> tuple[list[Interval], set[str]]:
    """Pairs (1,2), (3,4), ...; an odd count leaves the last punch open (missing_out)."""
    intervals = [Interval(punches[i].instant, punches[i + 1].instant) for i in range(0, len(punches) - 1, 2)]
    if len(punches) % 2:
        return [*intervals, Interval(punches[-1].instant, None)], {"missing_out"}
    return intervals, set()


def pair_directions(punches: list[Punch]) -> tuple[list[Interval], set[str]]:
    """IN-like opens, OUT-like closes; repeated_in / missing_in are ignored punches, open at end is missing_out."""
    intervals: list[Interval] = []
    anomalies: set[str] = set()
    open_start: int | None = None
    for punch in punches:
        if punch.direction in OPENING:
            if open_start is None:
                open_start = punch.instant
            else:
                anomalies.add("repeated_in")
        elif open_start is None:
            anomalies.add("missing_in")
        else:
            intervals.append(Interval(open_start, punch.instant))
            open_start = None
    if open_start is not None:
        intervals.append(Interval(open_start, None))
        anomalies.add("missing_out")
    return intervals, anomalies


def pair_first_last(punches: list[Punch]) -> tuple[list[Interval], set[str]]:
    """One interval from the first to the last punch; a single punch is open (missing_out)."""
    if len(punches) == 1:
        return [Interval(punches[0].instant, None)], {"missing_out"}
    return [Interval(punches[0].instant, punches[-1].instant)], set()


def pair_punches(occ: Occurrence, rules: RuleSet) -> tuple[list[Interval], set[str]]:
    """Step 4 with reading 6 choosing the mode, then closing at shift end (reading 9)."""
    punches = occ.punches
    if not punches:
        return [], set()
    if occ.shift.hours_from == "first_last":
        intervals, anomalies = pair_first_last(punches)
    elif rules.pairing.direction == "auto" and all(p.direction is not None for p in punches):
        intervals, anomalies = pair_directions(punches)
    else:
        intervals, anomalies = pair_alternate(punches)
    if occ.shift.missing_out == "shift_end":
        for interval in intervals:
            if interval.end is None and interval.start < occ.end:
                interval.end = occ.end
    return intervals, anomalies


def round_instant(instant: int, unit: int, mode: str, zone: ZoneInfo) -> int:
    """Move an instant on the grid of `unit` minutes from its local midnight, keeping its offset."""
    local, rest = ns_to_local(instant, zone)
    wall = (local.hour * 3600 + local.minute * 60 + local.second) * NS_PER_SECOND + rest
    step = unit * NS_PER_MINUTE
    remainder = wall % step
    if remainder == 0:
        return instant
    if mode == "up" or (mode == "nearest" and 2 * remainder >= step):
        return instant + (step - remainder)
    return instant - remainder


def apply_rounding(intervals: list[Interval], shift: Shift, zone: ZoneInfo) -> None:
    """Round the first interval's start (in mode) and the last closed interval's end (out mode)."""
    if shift.rounding is None or not intervals:
        return
    unit = shift.rounding.unit
    intervals[0].start = round_instant(intervals[0].start, unit, shift.rounding.in_, zone)
    closed = [iv for iv in intervals if iv.end is not None]
    if closed:
        closed[-1].end = round_instant(closed[-1].end, unit, shift.rounding.out, zone)


def overlap_minutes(start: int, end: int, low: int | None, high: int | None) -> int:
    """floor(overlap seconds / 60) of [start, end] with [low, high] (None = unbounded); 0 if none."""
    lo = start if low is None else max(start, low)
    hi = end if high is None else min(end, high)
    return max(0, hi - lo) // NS_PER_MINUTE


def break_windows(occ: Occurrence, zone: ZoneInfo) -> list[tuple[int, int]]:
    """Fixed breaks as instants (reading 10): next day after midnight on night shifts."""
    windows = []
    for brk in occ.shift.breaks:
        day = occ.work_date
        if occ.shift.crosses_midnight and brk.start < occ.shift.start:
            day += timedelta(days=1)
        end_day = day + timedelta(days=1) if brk.end <= brk.start else day
        windows.append((local_to_ns(day, brk.start, zone), local_to_ns(end_day, brk.end, zone)))
    return windows


def worked_time(closed: list[Interval], occ: Occurrence, zone: ZoneInfo) -> tuple[int, int]:
    """Step 6 / reading 10: (worked_minutes, break_minutes)."""
    gross = sum(overlap_minutes(iv.start, iv.end, None, None) for iv in closed)
    breaks = sum(
        overlap_minutes(iv.start, iv.end, b_start, b_end)
        for b_start, b_end in break_windows(occ, zone)
        for iv in closed
    )
    auto = occ.shift.auto_break
    if breaks == 0 and auto is not None and gross >= auto.after:
        breaks = auto.minutes
    return max(0, gross - breaks), breaks


def lateness(first_in: int | None, last_out: int | None, occ: Occurrence) -> tuple[int, int]:
    """Step 7 / reading 12 on a workday: (late_minutes, early_exit_minutes)."""
    late = early = 0
    if first_in is not None and first_in > occ.start + occ.shift.grace_in * NS_PER_MINUTE:
        late = (first_in - occ.start) // NS_PER_MINUTE
    if last_out is not None and last_out < occ.end - occ.shift.grace_out * NS_PER_MINUTE:
        early = (occ.end - last_out) // NS_PER_MINUTE
    return late, early


def overtime(closed: list[Interval], occ: Occurrence, workday: bool, worked: int) -> tuple[int, int]:
    """Step 8 / reading 11: (ot_raw, ot_minutes)."""
    ot = occ.shift.ot
    if workday:
        raw = sum(overlap_minutes(iv.start, iv.end, occ.end, None) for iv in closed)
        if ot.early:
            raw += sum(overlap_minutes(iv.start, iv.end, None, occ.start) for iv in closed)
    else:
        raw = worked if ot.off_days else 0
    minutes = 0 if raw < ot.min else min(raw // ot.unit * ot.unit, ot.cap)
    return raw, minutes


def day_type_of(day: date, employee: Employee) -> str:
    """holiday beats weekly_off beats workday."""
    if day in employee.site.holidays:
        return "holiday"
    return "weekly_off" if WEEKDAYS[day.weekday()] in employee.weekly_off else "workday"


def leave_of(entries: list[tuple[str, bool]]) -> tuple[bool, float, float]:
    """(full day?, leave_days, unpaid days) of the leave rows of one employee and date."""
    kinds = {kind for kind, _ in entries}
    full = "full" in kinds or {"first_half", "second_half"} <= kinds
    leave_days = 1.0 if full else 0.5 if kinds else 0.0
    unpaid = sum((1.0 if kind == "full" else 0.5) for kind, paid in entries if not paid)
    return full, leave_days, unpaid


def status_of(
    day_type: str, full_leave: bool, half_leave: bool, punch_count: int, worked: int, shift: Shift
) -> tuple[str, set[str]]:
    """Step 9 in the order of reading 13: (status, added anomalies)."""
    if full_leave:
        return "on_leave", {"worked_on_leave"} if punch_count else set()
    if day_type != "workday":
        return ("present" if punch_count else day_type), set()
    if half_leave:
        if not punch_count:
            return "half_day", set()
        if worked >= shift.absent_below:
            return "present", set()
        return "half_day", {"short_shift"}
    if not punch_count:
        return "absent", set()
    if worked < shift.absent_below:
        return "absent", {"short_shift"}
    return ("half_day" if worked < shift.half_day_below else "present"), set()


def lop_of(status: str, day_type: str, unpaid: float) -> float:
    """Step 10 / reading 14: loss of pay, at most 1."""
    base = 1.0 if (status == "absent" and day_type == "workday") else 0.5 if status == "half_day" else 0.0
    return min(1.0, base + unpaid)


def format_anomalies(codes: set[str], duplicates: int) -> str:
    """Sorted codes joined with ';', duplicates carrying their count."""
    if duplicates:
        codes = codes | {f"duplicates:{duplicates}"}
    return ";".join(sorted(codes))


def process_day(occ: Occurrence, employee: Employee, leave: list[tuple[str, bool]], rules: RuleSet) -> dict:
    """Steps 4 to 10 for one occurrence: the output row."""
    zone = employee.zone
    intervals, anomalies = pair_punches(occ, rules)
    apply_rounding(intervals, occ.shift, zone)
    closed = [iv for iv in intervals if iv.end is not None]
    first_in = intervals[0].start if intervals else None
    last_out = closed[-1].end if closed else None
    worked, break_minutes = worked_time(closed, occ, zone)
    day_type = day_type_of(occ.work_date, employee)
    workday = day_type == "workday"
    late, early = lateness(first_in, last_out, occ) if workday else (0, 0)
    ot_raw, ot_minutes = overtime(closed, occ, workday, worked)
    full_leave, leave_days, unpaid = leave_of(leave)
    status, more = status_of(day_type, full_leave, leave_days == 0.5, len(occ.punches), worked, occ.shift)
    return {
        "employee_id": employee.employee_id,
        "work_date": occ.work_date.isoformat(),
        "site": employee.site_name,
        "shift": occ.shift_name,
        "day_type": day_type,
        "status": status,
        "first_in": local_iso(first_in, zone),
        "last_out": local_iso(last_out, zone),
        "worked_minutes": worked,
        "regular_minutes": max(0, worked - ot_raw),
        "ot_minutes": ot_minutes,
        "break_minutes": break_minutes,
        "late_minutes": late,
        "early_exit_minutes": early,
        "leave_days": leave_days,
        "lop_days": lop_of(status, day_type, unpaid),
        "punch_count": len(occ.punches),
        "anomalies": format_anomalies(anomalies | more, occ.duplicates),
        "recomputed": False,
        "rules_version": rules.version(),
        "intervals": ";".join(f"{local_iso(iv.start, zone)}/{local_iso(iv.end, zone)}" for iv in intervals),
    }


def read_employees(inputs: AttendanceInputs, rules: RuleSet) -> list[Employee]:
    """Employees sorted by id, with their site, weekly off days and dated assignments."""
    assignments: dict[str, list[tuple[date, date, str]]] = {}
    for row in inputs.assignments.to_dict("records"):
        assignments.setdefault(str(row["employee_id"]), []).append(
            (as_date(row["from"]), as_date(row["to"]), str(row["shift"]))
        )
    employees = []
    for row in inputs.employees.to_dict("records"):
        site = rules.sites[row["site"]]
        override = row.get("weekly_off")
        weekly_off = site.weekly_off if is_missing(override) else parse_weekdays(override)
        employee_id, zone = str(row["employee_id"]), ZoneInfo(site.timezone)
        dated = tuple(assignments.get(employee_id, ()))
        employees.append(Employee(employee_id, row["site"], site, zone, weekly_off, row["shift"], dated))
    return sorted(employees, key=lambda e: e.employee_id)


def read_punches(punches: pd.DataFrame) -> dict[str, list[Punch]]:
    """Punches grouped by employee; a missing or unknown direction becomes None."""
    directions = punches["direction"] if "direction" in punches else [None] * len(punches)
    grouped: dict[str, list[Punch]] = {}
    columns = zip(punches["employee_id"], punches["instant"], punches["device_id"], directions, strict=True)
    for position, (employee_id, instant, device_id, direction) in enumerate(columns):
        direction = direction if isinstance(direction, str) and direction in DIRECTIONS else None
        grouped.setdefault(str(employee_id), []).append(
            Punch(position, pd.Timestamp(instant).value, str(device_id), direction)
        )
    return grouped


def read_leaves(leaves: pd.DataFrame) -> dict[tuple[str, date], list[tuple[str, bool]]]:
    """Leave rows keyed by (employee_id, date)."""
    by_day: dict[tuple[str, date], list[tuple[str, bool]]] = {}
    for row in leaves.to_dict("records"):
        by_day.setdefault((str(row["employee_id"]), as_date(row["date"])), []).append(
            (str(row["kind"]), bool(row["paid"]))
        )
    return by_day


def oracle_compute_days(inputs: AttendanceInputs, rules: RuleSet, date_from: date, date_to: date) -> DaysResult:
    """Processed days and off-shift punches, one employee and one occurrence at a time."""
    punches_by_employee = read_punches(inputs.punches)
    leaves = read_leaves(inputs.leaves)
    rows: list[dict] = []
    off_shift: list[Punch] = []
    for employee in read_employees(inputs, rules):
        occurrences = build_occurrences(employee, rules, date_from, date_to)
        kept, dropped = debounce(punches_by_employee.get(employee.employee_id, []), rules.pairing.debounce_seconds)
        for punch in dropped:  # reading 5
            owner = find_occurrence(punch.instant, occurrences)
            if owner is not None:
                owner.duplicates += 1
        for punch in kept:  # step 3, reading 4
            owner = find_occurrence(punch.instant, occurrences)
            if owner is not None:
                owner.punches.append(punch)
            elif date_from <= ns_to_local(punch.instant, employee.zone)[0].date() <= date_to:
                off_shift.append(punch)
        for occ in occurrences:
            if date_from <= occ.work_date <= date_to:
                leave = leaves.get((employee.employee_id, occ.work_date), [])
                rows.append(process_day(occ, employee, leave, rules))
    return DaysResult(days=days_frame(rows), quarantine=off_shift_frame(inputs.punches, off_shift))


def days_frame(rows: list[dict]) -> pd.DataFrame:
    """The output rows as a frame in DAY_COLUMNS order, sorted by employee then work date."""
    frame = pd.DataFrame(rows, columns=list(DAY_COLUMNS))
    types = dict.fromkeys(DAY_COLUMNS, str) | dict.fromkeys(INT_COLUMNS, "int64")
    types |= {"leave_days": "float64", "lop_days": "float64", "recomputed": bool}
    frame = frame.astype(types)
    return frame.sort_values(["employee_id", "work_date"], kind="mergesort").reset_index(drop=True)


def off_shift_frame(punches: pd.DataFrame, quarantined: list[Punch]) -> pd.DataFrame:
    """The quarantined punch rows as given, plus reason='off_shift', sorted by employee, instant, device."""
    positions = [p.position for p in sorted(quarantined, key=chain_key)]
    frame = punches.iloc[positions].copy()
    frame["reason"] = "off_shift"
    frame = frame.sort_values(["employee_id", "instant", "device_id"], kind="mergesort")
    return frame.reset_index(drop=True)
