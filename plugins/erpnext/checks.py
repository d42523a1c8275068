"""What keeps a day from reaching ERPNext's attendance as punchbridge computed it (pure: data in, text out).

Two things, both read from ERPNext before anything is written:

- **Check-ins that cannot be taken back.** The API adds check-ins; it removes none. When the day
  ERPNext would hold after the missing punches are added (what it holds for that day plus them, read
  as Frappe HR reads a day: `punches.day_view`) is not the day punchbridge computed (a later first
  IN, an earlier last OUT, a pair that is gone), sending would leave ERPNext wrong: nothing of the
  day is sent, and its dead letter names the check-ins a person must delete or correct.
- **Attendance already marked.** Frappe HR's attendance job makes one Attendance per employee and
  day from the waiting check-ins; "If attendance is already present for the given date, the logs are
  marked as skipped and no exception is thrown" (`mark_attendance_and_link_log`,
  hrms/hr/doctype/employee_checkin/employee_checkin.py; the duplicate is any Attendance with
  `docstatus < 2`, hr/doctype/attendance/attendance.py). A check-in sent for such a day changes
  nothing in payroll, so it is not sent: the dead letter says how to free the day. A day counts as
  marked when one of its check-ins links an Attendance ("Attendance Marked"), or when an Attendance
  of the employee exists on the date ERPNext gives the day (the shift's start in ERPNext's system
  zone; punchbridge takes the system-zone date of the day's first punch, or the work date when that
  punch is after the work date's midnight on the site, as a late start of a night shift is).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from punchbridge.plugins.erpnext.punches import Day, Held, day_view

__all__ = ["attendance_date", "local_punches", "marked_message", "stale_checkins", "stale_message"]


def local_punches(day: Day, system: ZoneInfo) -> list[tuple[str, datetime]]:
    """The day's punches as aware times in its site zone (the system zone when it has none)."""
    site = day.site_zone or system
    return [(kind, moment.replace(tzinfo=system).astimezone(site)) for kind, moment in day.punches]


def stale_checkins(mode: str, day: Day, held_day: Iterable[Held], system: ZoneInfo) -> list[Held]:
    """The check-ins ERPNext holds for `day` (localised) that would make it read otherwise than computed."""
    wanted = local_punches(day, system)
    held = list(held_day)
    together = wanted + [(h.log_type, h.time) for h in held]
    columns = ("intervals",) if mode == "intervals" else ("check_in", "check_out")
    computed, would_hold = day_view(wanted), day_view(together)
    if all(computed[c] == would_hold[c] for c in columns):
        return []
    sent = set(wanted)
    return sorted((h for h in held if (h.log_type, h.time) not in sent), key=lambda h: h.time)


def stale_message(day: Day, stale: list[Held]) -> str:
    """The dead letter of a day ERPNext holds check-ins for that the computed day no longer has."""
    shown = ", ".join(f"{h.log_type or 'no log type'} {h.time:%Y-%m-%d %H:%M:%S} ({h.name})" for h in stale[:4])
    more = f" and {len(stale) - 4} more" if len(stale) > 4 else ""
    return (
        f"ERPNext holds check-in {shown}{more} for {day.employee} on {day.work_date}, which the day punchbridge "
        "computed does not have, and its API cannot remove a check-in: nothing of the day was sent. Delete or "
        "correct those check-ins in ERPNext (Employee Checkin list; cancel a linked Attendance first), then "
        "retry this dead letter"
    )


def attendance_date(day: Day, system: ZoneInfo) -> date | None:
    """The date ERPNext gives the day's Attendance (see the module docstring)."""
    if not day.punches:
        return day.work_date
    first = min(moment for _, moment in day.punches)
    site_first = first.replace(tzinfo=system).astimezone(day.site_zone or system)
    if day.work_date is not None and site_first.date() != day.work_date:
        return day.work_date
    return first.date()


def marked_message(day: Day, attendance: Mapping[str, Any], employee_name: str) -> str:
    """The dead letter of a day whose Attendance ERPNext has already marked."""
    name = attendance.get("name")
    status = f" ({attendance['status']})" if attendance.get("status") else ""
    on = attendance.get("attendance_date") or day.work_date
    return (
        f"ERPNext already has Attendance {name}{status} for {employee_name} ({day.employee}) on {on}: Frappe HR's "
        "attendance job skips new check-ins of a day that has one (mark_attendance_and_link_log), so these "
        f"punches would change nothing in payroll and were not sent. To apply them: cancel Attendance {name} "
        "(this unlinks its check-ins), retry this dead letter, untick Skip Auto Attendance on any check-in of "
        "the day the job skipped, and let the job (or Shift Type > Process Auto Attendance) mark the day again; "
        "or amend the Attendance by hand"
    )
