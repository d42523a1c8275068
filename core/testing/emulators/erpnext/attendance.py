"""Frappe HR's Attendance as the emulator keeps it, and the hourly job that marks it from check-ins.

What Frappe HR does (frappe/hrms, develop and version-15-hotfix, October 2024), and the emulator with it:

- `ShiftType.process_auto_attendance` (hr/doctype/shift_type/shift_type.py, scheduled `hourly_long`)
  takes only the check-ins with `skip_auto_attendance = 0` and no `attendance`, groups them by
  employee and shift start, and calls `mark_attendance_and_link_log` for each group with the shift
  start's date as `attendance_date`. The emulator has no shift types: a group is a day as a shift
  reads it (an IN opens the day of its date, an OUT within 24 hours of it closes it), and `run_job`
  processes every waiting check-in, as if `last_sync_of_checkin` had passed them all.
- `mark_attendance_and_link_log` (hr/doctype/employee_checkin/employee_checkin.py) submits an
  Attendance and sets `attendance` on the group's check-ins; "If attendance is already present for
  the given date, the logs are marked as skipped and no exception is thrown": Attendance's
  `validate_duplicate_record` throws "Attendance for employee {0} is already marked for the date {1}:
  {2}" for any Attendance of that employee and date with `docstatus < 2` (hr/doctype/attendance/
  attendance.py), and `handle_attendance_exception` sets `skip_auto_attendance = 1` on the group and
  comments "Reason for skipping auto attendance:<br>{error}" on each check-in.
- Cancelling an Attendance (`on_cancel` -> `unlink_attendance_from_checkins`) clears `attendance` on
  its check-ins; it leaves `skip_auto_attendance` as it is, so skipped check-ins stay skipped until a
  person unticks the box.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

__all__ = ["ATTENDANCE_FIELDS", "AttendanceBook"]

#: The longest an OUT may follow its IN and still belong to the IN's day (a night shift).
MAX_SHIFT = timedelta(hours=24)
#: The Attendance fields a list request may ask for.
ATTENDANCE_FIELDS = (
    "name", "employee", "employee_name", "attendance_date", "status", "docstatus", "shift", "in_time",
    "out_time", "working_hours", "creation", "modified",
)  # fmt: skip


class AttendanceBook:
    """The site's Attendance documents and comments; `run_job` is the auto-attendance job over check-ins."""

    def __init__(self) -> None:
        self.documents: dict[str, dict[str, Any]] = {}
        self.comments: list[dict[str, str]] = []
        self._next = 1

    def existing(self, employee: str, day: date) -> dict[str, Any] | None:
        """The draft or submitted Attendance of `employee` on `day` (attendance.py: `docstatus < 2`)."""
        for document in self.documents.values():
            same = document["employee"] == employee and document["attendance_date"] == day.isoformat()
            if same and document["docstatus"] < 2:
                return document
        return None

    def mark(
        self, employee: dict[str, Any], day: date, status: str, checkins: list[dict[str, Any]], now: str
    ) -> dict[str, Any]:
        """Submit an Attendance of `employee` on `day` and link `checkins` to it."""
        name = f"HR-ATT-{day:%Y}-{self._next:05d}"
        self._next += 1
        times = sorted(datetime.fromisoformat(c["time"]) for c in checkins)
        ins = [datetime.fromisoformat(c["time"]) for c in checkins if c["log_type"] == "IN"]
        outs = [datetime.fromisoformat(c["time"]) for c in checkins if c["log_type"] == "OUT"]
        first, last = (min(ins) if ins else None), (max(outs) if outs else None)
        hours = round((last - first).total_seconds() / 3600, 2) if first and last and last > first else 0.0
        document = {
            "name": name,
            "employee": employee["name"],
            "employee_name": employee["employee_name"],
            "attendance_date": day.isoformat(),
            "status": status,
            "docstatus": 1,
            "shift": None,
            "in_time": first.strftime("%Y-%m-%d %H:%M:%S") if first else None,
            "out_time": last.strftime("%Y-%m-%d %H:%M:%S") if last else None,
            "working_hours": hours if times else 0.0,
            "creation": now,
            "modified": now,
        }
        self.documents[name] = document
        for checkin in checkins:
            checkin["attendance"] = name
        return document

    def cancel(self, name: str, checkins: Iterable[dict[str, Any]]) -> list[str]:
        """Cancel Attendance `name` (docstatus 2) and unlink its check-ins; the names of those unlinked."""
        document = self.documents[name]
        document["docstatus"] = 2
        unlinked = []
        for checkin in checkins:
            if checkin.get("attendance") == name:
                checkin["attendance"] = None
                unlinked.append(checkin["name"])
        return unlinked

    def run_job(self, employees: dict[str, dict[str, Any]], checkins: Iterable[dict[str, Any]], now: str) -> int:
        """The auto-attendance job over the waiting check-ins (module docstring); Attendance documents made."""
        waiting: dict[str, list[dict[str, Any]]] = {}
        for checkin in checkins:
            if not checkin.get("skip_auto_attendance") and not checkin.get("attendance"):
                waiting.setdefault(checkin["employee"], []).append(checkin)
        made = 0
        for employee, logs in waiting.items():
            for day, group in _days(logs).items():
                held = self.existing(employee, day)
                if held is not None:
                    error = (
                        f"Attendance for employee <strong>{employee}</strong> is already marked for the date "
                        f"<strong>{day:%d-%m-%Y}</strong>: {held['name']}"
                    )
                    for checkin in group:
                        checkin["skip_auto_attendance"] = 1
                        self.comments.append(
                            {
                                "reference_doctype": "Employee Checkin",
                                "reference_name": checkin["name"],
                                "content": f"<strong>Reason for skipping auto attendance:</strong><br>{error}",
                            }
                        )
                    continue
                self.mark(employees[employee], day, "Present", group, now)
                made += 1
        return made


def _days(checkins: list[dict[str, Any]]) -> dict[date, list[dict[str, Any]]]:
    """Check-ins of one employee by the day a shift reads them in (an OUT within 24 h joins its IN)."""
    grouped: dict[date, list[dict[str, Any]]] = {}
    open_in: datetime | None = None
    for checkin in sorted(checkins, key=lambda c: (c["time"], c["log_type"] != "IN")):
        moment = datetime.fromisoformat(checkin["time"])
        if checkin["log_type"] == "OUT" and open_in is not None and moment - open_in <= MAX_SHIFT:
            day = open_in.date()
            open_in = None
        else:
            day = moment.date()
            open_in = moment if checkin["log_type"] == "IN" else open_in
        grouped.setdefault(day, []).append(checkin)
    return grouped
