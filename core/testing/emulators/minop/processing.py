"""The emulated cloud's own processing: processed days computed from its raw punches (`processing: cloud`).

The vendor describes its pipeline (pull raw by date and site, pair in and out, apply the shift, grace
and breaks, mark anomalies, compute overtime) without its rules. This is a small stand-in with the same
outputs, so `processing: cloud` can be tried against the emulator: per employee and site-local date, the
first punch is the way in and the last the way out; the shift's break is taken from days over six hours;
hours past the shift's length are overtime; a day with one punch is a half day with `missing_out`.
Night shifts are not modelled: a day is the site's calendar day.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

__all__ = ["CloudShift", "days_touched", "process_days"]

_NS = 1_000_000_000


@dataclass(frozen=True)
class CloudShift:
    """The one shift the emulated cloud applies: its window (site-local `HH:MM`), grace and break."""

    name: str = "general"
    start: str = "09:00"
    end: str = "18:00"
    grace_minutes: int = 10
    break_minutes: int = 60

    def window(self) -> dict[str, str]:
        """The shift as processed records carry it: name and window."""
        return {"name": self.name, "start": self.start, "end": self.end}

    def hours(self) -> float:
        """The shift's length in hours, its break taken off."""
        start, end = time.fromisoformat(self.start), time.fromisoformat(self.end)
        minutes = (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)
        return (minutes % (24 * 60) - self.break_minutes) / 60


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _day(employee: str, day: date, instants: list[int], zone: ZoneInfo, shift: CloudShift) -> dict[str, Any]:
    first = datetime.fromtimestamp(min(instants) / _NS, UTC)
    last = datetime.fromtimestamp(max(instants) / _NS, UTC)
    start = datetime.combine(day, time.fromisoformat(shift.start), zone)
    end = datetime.combine(day, time.fromisoformat(shift.end), zone)
    late = max(0, int((first - start).total_seconds() // 60) - shift.grace_minutes)
    record: dict[str, Any] = {
        "employee_id": employee,
        "date": day.isoformat(),
        "first_in": _iso(first),
        "shift": shift.window(),
        "late_minutes": late,
        "recomputed": False,
        "cost_center": None,
        "department": None,
        "location": None,
    }
    if len(instants) < 2:
        return record | {"status": "half_day", "last_out": None, "payable_hours": 0.0, "ot_hours": 0.0,
                         "early_exit_minutes": 0, "anomalies": ["missing_out"]}  # fmt: skip
    worked = (last - first).total_seconds() / 3600
    if worked > 6:
        worked -= shift.break_minutes / 60
    payable = round(max(0.0, worked), 2)
    early = max(0, int((end - last).total_seconds() // 60))
    anomalies = ["short_shift"] if payable < shift.hours() / 2 else []
    return record | {
        "status": "present" if payable >= shift.hours() / 2 else "half_day",
        "last_out": _iso(last),
        "payable_hours": payable,
        "ot_hours": round(max(0.0, payable - shift.hours()), 2),
        "early_exit_minutes": early,
        "anomalies": anomalies,
    }


def process_days(
    punches: Iterable[tuple[str, int]],
    zone: str,
    shift: CloudShift,
    only: set[tuple[str, str]] | None = None,
) -> list[dict[str, Any]]:
    """Processed records of `punches` ((employee, instant ns)) by site-local day; with `only`, just those
    (employee, YYYY-MM-DD) days."""
    tz = ZoneInfo(zone)
    by_day: dict[tuple[str, date], list[int]] = defaultdict(list)
    for employee, instant in punches:
        day = datetime.fromtimestamp(instant / _NS, UTC).astimezone(tz).date()
        if only is None or (employee, day.isoformat()) in only:
            by_day[(employee, day)].append(instant)
    return [_day(employee, day, instants, tz, shift) for (employee, day), instants in sorted(by_day.items())]


def days_touched(punches: Iterable[tuple[str, int]], zone: str) -> set[tuple[str, str]]:
    """The (employee, YYYY-MM-DD) site-local days `punches` fall on."""
    tz = ZoneInfo(zone)
    return {
        (employee, datetime.fromtimestamp(instant / _NS, UTC).astimezone(tz).date().isoformat())
        for employee, instant in punches
    }
