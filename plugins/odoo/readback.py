"""What Odoo holds, per employee and local day, for reconciliation: each employee's day in their own site's zone.

Odoo stores naive UTC and no zone (addons/hr_attendance: `check_in`/`check_out` are Datetime
fields), so the zone only decides which local day an attendance belongs to: the employee's site
zone (`Target.zone_for`, or the `timezone` override). Each day gives the fields of both mapping
conventions in the mapping's local ISO form, to the second as Odoo keeps them. The absence cron's
1-second `technical` records (18.0 on, `_cron_absence_detection`) are left out: they mark a day
without attendance, which is what punchbridge computed for it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from punchbridge.plugin_api import HeldRecord, format_intervals
from punchbridge.plugins.odoo import replies
from punchbridge.plugins.odoo.days import Held, local_time, odoo_text
from punchbridge.plugins.odoo.employees import EmployeeDirectory
from punchbridge.plugins.odoo.plan import is_absence_marker

__all__ = ["READ_BACK_PAGE", "read_back"]

log = logging.getLogger("punchbridge.plugins.odoo")

#: Attendance records per page when reading back (a month of a large site is tens of thousands).
READ_BACK_PAGE = 2000

Call = Callable[..., Any]


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), zone).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def read_back(
    call: Call,
    directory: EmployeeDirectory,
    zone_of: Callable[[str], ZoneInfo],
    attendance_fields: Sequence[str],
    span: tuple[date, date],
    employees: Sequence[str] | None,
    where: str,
) -> Iterator[HeldRecord]:
    """One `HeldRecord` per employee and local day of `span` (inclusive) that Odoo holds attendance for.

    `zone_of` gives an employee key's zone; `attendance_fields` are the hr.attendance fields to read
    (the modes where the version has them).
    """
    start, end = span
    directory.load()
    domain: list[Any] = []
    keys: set[str] | None = None
    if employees is not None:
        found = directory.ids({str(e).strip() for e in employees})
        ids = sorted({i for matches in found.values() for i in matches})
        if not ids:
            return
        keys = set(found)
        domain.append(["employee_id", "in", ids])
    known = keys if keys is not None else set(directory.key_of.values())
    zones = {zone_of(key) for key in known} or {zone_of("")}
    domain += [
        ["check_in", ">=", odoo_text(min(_midnight(start, zone) for zone in zones))],
        ["check_in", "<", odoo_text(max(_midnight(end + timedelta(days=1), zone) for zone in zones))],
    ]
    grouped: dict[tuple[str, date], list[Held]] = {}
    offset, unknown = 0, set()
    while True:
        params = {"domain": domain, "fields": list(attendance_fields), "offset": offset, "limit": READ_BACK_PAGE}
        rows = call("hr.attendance", "search_read", {**params, "order": "id"})
        held = replies.attendances(rows, where, "hr.attendance.search_read")
        for attendance in held:
            key = directory.key_of.get(attendance.employee)
            if key is None:
                unknown.add(attendance.employee)
                continue
            if is_absence_marker(attendance):
                continue
            local_day = local_time(attendance.check_in, zone_of(key)).date()
            if start <= local_day <= end:
                grouped.setdefault((key, local_day), []).append(attendance)
        if len(held) < READ_BACK_PAGE:
            break
        offset += READ_BACK_PAGE
    if unknown:
        log.warning(
            "%s: attendance of %d employees without a %s was not read back", where, len(unknown), directory.field
        )
    for (key, day), intervals in sorted(grouped.items()):
        zone = zone_of(key)
        intervals.sort(key=lambda h: (h.check_in, h.id))
        closed = [h.check_out for h in intervals if h.check_out is not None]
        fields_held = {
            "check_in": local_time(intervals[0].check_in, zone).isoformat(),
            "check_out": local_time(max(closed), zone).isoformat() if closed else "",
            "intervals": format_intervals(
                (local_time(h.check_in, zone), local_time(h.check_out, zone) if h.check_out else None)
                for h in intervals
            ),
        }
        remote = "hr.attendance:" + ",".join(str(h.id) for h in intervals)
        yield HeldRecord(employee=key, work_date=day, fields=fields_held, remote_id=remote)
