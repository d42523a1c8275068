"""Processed days as ERPNext check-ins and back (pure: data in, data out; no connection, no file).

A record (one employee-day) stands for punches: from `check_in` and `check_out` (first in, last out:
at most one IN and one OUT) or from `intervals` (`start/end;start/end;start/`: an IN at each start and
an OUT at each end). Times are the rules engine's local ISO-8601 with the offset of the record's site.
ERPNext reads a check-in's `time` as naive wall-clock time in its one system time zone (Frappe keeps
datetimes naive in System Settings' zone: frappe.utils.now_datetime), so each time is converted to
that zone first, whatever site it comes from.

Going back, a check-in is converted from the system zone to its employee's site zone, and an
employee's check-ins are grouped into days the way a shift reads them: an IN opens the day of its
(site-local) date, an OUT closes the open IN if it came within 24 hours (a night shift stays one
day), else it belongs to its own date. A day is then read as Frappe HR reads it with "Strictly based
on Log Type in Employee Checkin" (hrms/hr/doctype/employee_checkin/employee_checkin.py,
`calculate_working_hours`): the first IN and the last OUT, and for every pair an IN that opens an
interval, further INs ignored until the OUT that closes it, an OUT without an open IN ignored.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from punchbridge.plugin_api import BadRecordError, IntervalsError, Record, format_intervals, parse_intervals

#: ERPNext's check-in time format (system zone, naive).
WIRE = "%Y-%m-%d %H:%M:%S"
#: The longest an OUT may follow its IN and still close it.
MAX_SHIFT = timedelta(hours=24)

Punch = tuple[str, datetime]  # ("IN" | "OUT", system-zone naive time, to the second)


@dataclass(frozen=True)
class Day:
    """One record as the punches it stands for, with where it comes from."""

    key: str
    employee: str  # the value of the Employee field the target matches on
    work_date: date | None
    punches: frozenset[Punch]
    site_zone: ZoneInfo | None = None  # the record's site zone; None: the system zone
    device: str = ""  # the check-ins' Device ID


@dataclass(frozen=True)
class Held:
    """An Employee Checkin ERPNext holds."""

    name: str
    employee: str  # the Employee document name
    log_type: str  # "IN", "OUT" or "" (ERPNext allows a check-in without one)
    time: datetime  # system-zone naive as listed; aware (site-local) once `localised`
    attendance: str | None = None  # the Attendance it is linked to ("Attendance Marked")


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def wall_time(value: Any, zone: ZoneInfo, column: str, key: str) -> datetime:
    """A local ISO-8601 time with offset as naive wall-clock time in `zone` (to the second)."""
    moment = None
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            moment = None
    if moment is None:
        raise BadRecordError(
            f"record {key}: {column} {_shown(value)} is not a local ISO-8601 time like 2025-10-06T09:02:00+05:30 "
            "(map it `from: first_in`, `from: last_out` or `from: intervals`, without a format)"
        )
    if moment.tzinfo is None:
        raise BadRecordError(f"record {key}: {column} {_shown(value)} has no UTC offset, so the instant is unknown")
    return _system_time(moment, zone)


def _system_time(moment: datetime, zone: ZoneInfo) -> datetime:
    """An aware time as `zone`'s naive wall-clock time, to the second (ERPNext's form)."""
    return moment.astimezone(zone).replace(tzinfo=None, microsecond=0)


def _employee(record: Record) -> str:
    value = record.fields.get("employee")
    if isinstance(value, float) and math.isnan(value):
        value = None
    text = "" if value is None or isinstance(value, bool) else str(value).strip()
    if not text:
        raise BadRecordError(
            f"record {record.key}: column `employee` is empty; it must hold the ERPNext employee's value"
        )
    if len(text) > 140:
        raise BadRecordError(
            f"record {record.key}: column `employee` holds {len(text)} characters, more than ERPNext's 140"
        )
    return text


def _work_date(key: str) -> date | None:
    parts = key.rsplit("|", 2)
    try:
        return date.fromisoformat(parts[1]) if len(parts) == 3 else None
    except ValueError:
        return None


def day_of(record: Record, mode: str, zone: ZoneInfo, *, site_zone: ZoneInfo | None = None, device: str = "") -> Day:
    """The punches `record` stands for, by `mode` (`intervals` or `first_last`), in system zone `zone`;
    BadRecordError when it cannot be sent."""
    employee = _employee(record)
    punches: set[Punch] = set()
    if mode == "intervals":
        try:
            intervals = parse_intervals(record.fields.get("intervals"))
        except IntervalsError as exc:
            raise BadRecordError(f"record {record.key}: {exc}") from None
        for begin, finish in intervals:
            punches.add(("IN", _system_time(begin, zone)))
            if finish is not None:
                punches.add(("OUT", _system_time(finish, zone)))
    else:
        check_in, check_out = record.fields.get("check_in"), record.fields.get("check_out")
        start = wall_time(check_in, zone, "check_in", record.key) if check_in not in (None, "") else None
        end = wall_time(check_out, zone, "check_out", record.key) if check_out not in (None, "") else None
        if start is not None and end is not None and end < start:
            raise BadRecordError(f"record {record.key}: check_out {check_out} is before check_in {check_in}")
        punches |= {("IN", start)} if start is not None else set()
        punches |= {("OUT", end)} if end is not None else set()
    return Day(record.key, employee, _work_date(record.key), frozenset(punches), site_zone, device)


def localised(held: Iterable[Held], system: ZoneInfo, site_of: Callable[[str], ZoneInfo]) -> list[Held]:
    """`held` with each time as an aware time in its employee's site zone (`site_of(Employee name)`)."""
    return [
        Held(h.name, h.employee, h.log_type, h.time.replace(tzinfo=system).astimezone(site_of(h.employee)),
             h.attendance)
        for h in held
    ]  # fmt: skip


def days_of(held: Iterable[Held]) -> dict[tuple[str, date], list[Held]]:
    """Check-ins grouped by (employee name, day) as a shift reads them (see the module docstring)."""
    by_employee: dict[str, list[Held]] = {}
    for checkin in held:
        by_employee.setdefault(checkin.employee, []).append(checkin)
    grouped: dict[tuple[str, date], list[Held]] = {}
    for employee, checkins in by_employee.items():
        open_in: Held | None = None
        for checkin in sorted(checkins, key=lambda c: (c.time, c.log_type != "IN", c.name)):
            if checkin.log_type == "OUT" and open_in is not None and checkin.time - open_in.time <= MAX_SHIFT:
                day = open_in.time.date()
                open_in = None
            else:
                day = checkin.time.date()
                open_in = checkin if checkin.log_type == "IN" else open_in
            grouped.setdefault((employee, day), []).append(checkin)
    return grouped


def day_view(punches: Iterable[tuple[str, datetime]]) -> Mapping[str, str]:
    """A day's punches (aware times) as Frappe HR reads them, in the mapping's columns: `check_in` (first
    IN), `check_out` (last OUT), `intervals` (its valid pairs; see the module docstring)."""
    ordered = sorted(punches, key=lambda p: (p[1], p[0] != "IN"))
    ins = [moment for kind, moment in ordered if kind == "IN"]
    outs = [moment for kind, moment in ordered if kind == "OUT"]
    pairs: list[tuple[datetime, datetime | None]] = []
    current: datetime | None = None
    for kind, moment in ordered:
        if kind == "IN" and current is None:
            current = moment
        elif kind == "OUT" and current is not None:
            pairs.append((current, moment))
            current = None
    if current is not None:
        pairs.append((current, None))
    return {
        "check_in": min(ins).isoformat() if ins else "",
        "check_out": max(outs).isoformat() if outs else "",
        "intervals": format_intervals(pairs),
    }


def held_fields(checkins: list[Held], zone: ZoneInfo) -> Mapping[str, str]:
    """A day's check-ins in the mapping's columns (`day_view`); naive times are read in `zone`."""
    return day_view(
        (c.log_type, c.time if c.time.tzinfo is not None else c.time.replace(tzinfo=zone)) for c in checkins
    )
