"""What the Zoho People emulator holds of attendance: punches per employee, their days, what was delivered.

Punches are a set per employee (a punch sent twice is held once), but every employee-day a call
writes counts one delivery, so a resent record shows. A punch belongs to the attendance day of its
check-in; a check-out within 24 hours of an open check-in belongs to that check-in's day (a night
shift stays one day): `formats.attribute_days`.
"""

from __future__ import annotations

import bisect
from collections import Counter
from datetime import date, datetime

from punchbridge.testing.emulators.zoho.formats import MAX_SHIFT, DayView, attribute_days

__all__ = ["AttendanceBook"]

Punch = tuple[datetime, str]  # (time, "in" | "out")


class AttendanceBook:
    """Punches per EmployeeID, their day views, the location each was sent with, and delivery counts."""

    def __init__(self) -> None:
        self._punches: dict[str, set[Punch]] = {}
        self._ordered: dict[str, list[Punch]] = {}  # the same, in time order
        self._views: dict[str, dict[date, DayView]] = {}
        self.locations: dict[str, dict[datetime, str]] = {}  # EmployeeID -> punch time -> location sent
        self.deliveries = 0
        self.deliveries_by_day: Counter[tuple[str, date]] = Counter()
        self.punches_written = 0
        self.duplicate_punches = 0

    def employees(self) -> list[str]:
        """Every EmployeeID that holds (or held) punches."""
        return list(self._punches)

    def views_of(self, employee_id: str) -> dict[date, DayView]:
        """The employee's days, by attendance date."""
        views = self._views.get(employee_id)
        if views is None:
            views = self._views[employee_id] = attribute_days(employee_id, self._punches.get(employee_id, set()))
        return views

    def deliver(self, employee_id: str, punches: list[Punch]) -> None:
        """Store punches of one call and count one delivery per employee-day they landed on."""
        for day in self._store(employee_id, punches):
            self.deliveries += 1
            self.deliveries_by_day[(employee_id, day)] += 1

    def delete_day(self, employee_id: str, work_date: date) -> int:
        """Delete an employee-day's punches; how many went."""
        view = self.views_of(employee_id).get(work_date)
        gone = set(view.punches) if view is not None else set()
        self._punches[employee_id] = self._punches.get(employee_id, set()) - gone
        self._ordered[employee_id] = sorted(self._punches[employee_id])
        self._views.pop(employee_id, None)
        return len(gone)

    def _store(self, employee_id: str, punches: list[Punch]) -> set[date]:
        """Add punches; the attendance days they landed on (a check-out joins the check-in before it)."""
        held = self._punches.setdefault(employee_id, set())
        ordered = self._ordered.setdefault(employee_id, [])
        for punch in punches:
            self.punches_written += 1
            if punch in held:
                self.duplicate_punches += 1
            else:
                held.add(punch)
                bisect.insort(ordered, punch)
        self._views.pop(employee_id, None)
        landed = set()
        for moment, kind in punches:
            day = moment.date()
            if kind == "out":
                position = bisect.bisect_left(ordered, (moment, kind))
                if position > 0:
                    before, before_kind = ordered[position - 1]
                    if before_kind == "in" and moment - before <= MAX_SHIFT:
                        day = before.date()
            landed.add(day)
        return landed
