"""Attendance that others make in Odoo: the kiosk, an HR officer, and Odoo's own crons.

A customer's Odoo is not punchbridge's alone. Each helper writes what the upstream code writes, as
the user it runs as, through the same constraints (addons/hr_attendance, paths below):

- `kiosk_punch`: `hr.employee._attendance_action_change` from the kiosk controller: the employee's
  open attendance is closed (`out_mode` kiosk) or a new one opened (`in_mode` kiosk), as the public
  user the kiosk runs as (17.0 on: `in_mode`/`out_mode`; 16.0 has no such fields);
- `officer_enters`: an Attendances officer creating one in the backend (modes stay `manual`);
- `run_auto_check_out` (18.0 on, companies with `auto_check_out`): `_cron_auto_check_out` closes an
  open attendance once (now - check-in, in whole `.seconds` as upstream) + the hours already worked
  that local day - the tolerance exceeds the scheduled hours, at `max(now - excess, check_in + 1 s)`
  where excess = worked_hours - (scheduled + tolerance - already worked), with `out_mode`
  `auto_check_out` ("Automatic Check-Out"), as OdooBot (odoo/odoo@1f535321 hr_attendance.py);
- `run_absence_detection` (18.0 on, companies with `absence_management`): `_cron_absence_detection`
  creates a 1-second `technical` attendance for each employee absent yesterday, at
  `pytz.utc.localize(yesterday).astimezone(tz).strftime(...)` stored as UTC: upstream writes the
  local wall time of UTC midnight as if it were UTC, so in Asia/Kolkata it lands at 05:30 UTC.
  Upstream keeps only those whose overtime is not zero; the emulator keeps every one (as for an
  employee scheduled to work that day).

Crons run every 4 hours upstream (hr_attendance_data.xml, master); tests call them when they want.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from punchbridge.testing.emulators.odoo.accounts import KIOSK, OFFICER, SUPERUSER
from punchbridge.testing.emulators.odoo.database import OdooDatabase
from punchbridge.testing.emulators.odoo.domain import naive_utc
from punchbridge.testing.emulators.odoo.orm import worked_hours

__all__ = ["CRONS_SINCE", "OdooStaff"]

#: The first version with the auto check-out and absence detection crons and the `technical` mode.
CRONS_SINCE = 18


class OdooStaff(OdooDatabase):
    """An Odoo database where people and crons make attendance too (see the module docstring)."""

    def kiosk_punch(self, employee_id: int, at: datetime) -> int:
        """The employee badges at Odoo's kiosk at `at`: closes their open attendance or opens one; its id."""
        moment = naive_utc(at)
        with self.lock:
            open_ids = sorted(self._open.get(employee_id, set()))
            modes = self.major >= 17
            if open_ids:
                attendance = open_ids[-1]
                values: dict[str, Any] = {"check_out": moment, **({"out_mode": "kiosk"} if modes else {})}
                self.change_attendance(attendance, uid=KIOSK, **values)
                return attendance
            extra = {"in_mode": "kiosk"} if modes else {}
            return self.add_attendance(employee_id, moment, None, uid=KIOSK, **extra)

    def officer_enters(
        self, employee_id: int, check_in: datetime | str, check_out: datetime | str | None = None
    ) -> int:
        """An Attendances officer creates an attendance by hand in the backend; its id."""
        return self.add_attendance(employee_id, check_in, check_out, uid=OFFICER)

    def run_auto_check_out(self, at: datetime, *, scheduled_hours: float = 8.0, tolerance: float = 2.0) -> list[int]:
        """`_cron_auto_check_out` at `at` for a company with auto check-out: the ids it closed."""
        self._needs_crons("auto check-out")
        moment = naive_utc(at)
        closed = []
        with self.lock:
            since = (moment - timedelta(days=1)).replace(hour=0, minute=0, second=0)
            for attendance in [a for a in self.attendance.values() if a["check_out"] is None]:
                tz = self.employees[attendance["employee_id"]].get("tz") or "UTC"
                local_day = _local_date(attendance["check_in"], tz)
                before = sum(
                    worked_hours(a["check_in"], a["check_out"], tz, self.major)
                    for a in self.attendance.values()
                    if a["employee_id"] == attendance["employee_id"]
                    and a["check_out"] is not None
                    and a["check_in"] > since
                    and _local_date(a["check_in"], tz) == local_day
                )
                elapsed = (moment - attendance["check_in"]).seconds / 3600  # `.seconds`, as upstream
                if elapsed + before - tolerance <= scheduled_hours:
                    continue
                worked = worked_hours(attendance["check_in"], moment, tz, self.major)
                excess = worked - (scheduled_hours + tolerance - before)
                check_out = max(moment - timedelta(hours=excess), attendance["check_in"] + timedelta(seconds=1))
                self.change_attendance(attendance["id"], uid=SUPERUSER, check_out=check_out, out_mode="auto_check_out")
                closed.append(attendance["id"])
        return closed

    def run_absence_detection(self, today: date) -> list[int]:
        """`_cron_absence_detection` on `today` for a company with absence management: the ids it created."""
        self._needs_crons("absence detection")
        yesterday = datetime.combine(today, datetime.min.time()) - timedelta(days=1)
        created = []
        with self.lock:
            for employee in [e for e in self.employees.values() if e["active"]]:
                tz = employee.get("tz") or "UTC"
                worked = any(
                    a["employee_id"] == employee["id"] and _local_date(a["check_in"], tz) == yesterday.date()
                    for a in self.attendance.values()
                )
                if worked:
                    continue
                wall = yesterday.replace(tzinfo=UTC).astimezone(ZoneInfo(tz)).replace(tzinfo=None)
                created.append(
                    self.add_attendance(
                        employee["id"],
                        wall,
                        wall + timedelta(seconds=1),
                        uid=SUPERUSER,
                        in_mode="technical",
                        out_mode="technical",
                    )
                )
        return created

    def _needs_crons(self, what: str) -> None:
        if self.major < CRONS_SINCE:
            raise ValueError(f"Odoo {self.version} has no {what} cron (it came with 18.0)")


def _local_date(moment: datetime, tz: str) -> date:
    return moment.replace(tzinfo=UTC).astimezone(ZoneInfo(tz)).date()
