"""Records as the attendance intervals of employee-days, and what to change in Odoo (pure: no connection).

A record (one employee-day) is the day's intervals: one from `check_in` and `check_out`, or every
pair from `intervals` (`punchbridge.rules.intervals`). Times are local ISO-8601 with their offset;
Odoo holds naive UTC `YYYY-MM-DD HH:MM:SS`, to the second. "A day" of Odoo's attendances is those
whose check-in falls in the local day (in the target's `timezone`).

`plan` compares each day with what Odoo holds: a matching interval is kept, a matching check-in
with another check-out is one `write`, and a changed day is made to hold exactly the new intervals
(one `write` when one interval moved, else `unlink` and `create`).
"""

from __future__ import annotations

import itertools
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from punchbridge.plugin_api import BadRecordError, IntervalsError, Record, parse_intervals
from punchbridge.plugins.odoo.rpc import shown

__all__ = ["ODOO_DATETIME", "Day", "Held", "LocalDays", "Plan", "is_id", "odoo_text", "plan"]

log = logging.getLogger("punchbridge.plugins.odoo")

#: Odoo's datetime format (naive UTC).
ODOO_DATETIME = "%Y-%m-%d %H:%M:%S"
_EXAMPLE = "2025-10-06T09:02:00+05:30"


@dataclass
class Held:
    """An hr.attendance Odoo holds: its id, employee and naive-UTC times."""

    id: int
    employee: int
    check_in: datetime
    check_out: datetime | None


@dataclass
class Day:
    """One record as the intervals of one employee-day, and what push did with it."""

    key: str
    employee_key: str
    work_date: date
    wanted: list[tuple[datetime, datetime | None]]  # naive UTC, by check-in
    start: datetime  # the local day as naive UTC, widened to hold every wanted check-in
    end: datetime
    base: tuple[datetime, datetime]  # the local day itself
    employee: int = 0
    held: list[Held] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)
    error: str | None = None

    def refuse(self, message: str) -> None:
        """Mark the day refused with Odoo's `message` (the first refusal stands)."""
        if self.error is None:
            self.error = f"Odoo: {message}"


def odoo_text(value: datetime) -> str:
    """A naive-UTC time as Odoo writes it."""
    return value.strftime(ODOO_DATETIME)


def is_id(value: Any) -> bool:
    """Whether `value` is a record id (a positive int, not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _work_date(key: str) -> date | None:
    """The work date in an engine record key (`EMPLOYEE|YYYY-MM-DD|day`), or None."""
    parts = key.rsplit("|", 2)
    if len(parts) != 3:
        return None
    try:
        return date.fromisoformat(parts[1])
    except ValueError:
        return None


def _optional_text(value: Any, column: str, key: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadRecordError(f"record {key}: column `{column}` holds {shown(value)}, not an ISO-8601 time or empty")
    return value.strip()


class LocalDays:
    """The target's local days as naive UTC, and records as the intervals Odoo should hold for them.

    Warns once a run when the records' offsets are not those of `timezone` (days would be matched
    and read back in the wrong zone).
    """

    def __init__(self, timezone: str, employee_by: str, where: str) -> None:
        self.zone, self.timezone, self.employee_by, self.where = ZoneInfo(timezone), timezone, employee_by, where
        self._warned_offset = False
        self._offsets_checked: set[tuple[timedelta, date]] = set()
        self._midnights: dict[date, datetime] = {}

    def midnight(self, day: date) -> datetime:
        """The start of local `day` as naive UTC."""
        found = self._midnights.get(day)
        if found is None:
            found = datetime.combine(day, time(), self.zone).astimezone(UTC).replace(tzinfo=None)
            self._midnights[day] = found
        return found

    def local(self, moment: datetime) -> datetime:
        """A naive-UTC time of Odoo's in the local zone."""
        return moment.replace(tzinfo=UTC).astimezone(self.zone)

    def day(self, record: Record) -> Day:
        """The record as a `Day`; BadRecordError naming the record when it cannot be intervals."""
        fields = record.fields
        employee = fields.get("employee")
        if isinstance(employee, bool) or not isinstance(employee, str | int) or not str(employee).strip():
            raise BadRecordError(f"record {record.key}: column `employee` holds {shown(employee)}, not an employee key")
        employee_key = str(employee).strip()
        if len(employee_key) > 200:
            raise BadRecordError(f"record {record.key}: column `employee` holds {len(employee_key)} characters")
        if self.employee_by == "id" and not re.fullmatch(r"[1-9]\d{0,9}", employee_key):
            raise BadRecordError(
                f"record {record.key}: employee {shown(employee_key)} is not an hr.employee id (a number); with "
                "barcodes, pins or e-mails in the id table set employee_by accordingly"
            )
        wanted = self._wanted(record)
        for (start, end), (next_start, _) in itertools.pairwise(wanted):
            if end is not None and end > next_start:
                raise BadRecordError(f"record {record.key}: intervals starting {start} and {next_start} (UTC) overlap")
        work_date = _work_date(record.key)
        if work_date is None:
            if not wanted:
                raise BadRecordError(f"record {record.key}: no work date in its key and no interval to take one from")
            work_date = wanted[0][0].replace(tzinfo=UTC).astimezone(self.zone).date()
        base = (self.midnight(work_date), self.midnight(work_date + timedelta(days=1)))
        starts = [start for start, _ in wanted]
        start = min([base[0], *starts])
        end = max([base[1], *(s + timedelta(seconds=1) for s in starts)])
        return Day(record.key, employee_key, work_date, wanted, start, end, base)

    def _wanted(self, record: Record) -> list[tuple[datetime, datetime | None]]:
        """The record's intervals in naive UTC, by check-in."""
        fields, key = record.fields, record.key
        if "intervals" in fields:
            try:
                intervals = parse_intervals(fields["intervals"])
            except IntervalsError as exc:
                raise BadRecordError(f"record {key}: {exc}") from None
            pairs = [(self._utc(start, key), self._utc(end, key) if end else None) for start, end in intervals]
        else:
            check_in = _optional_text(fields.get("check_in"), "check_in", key)
            check_out = _optional_text(fields.get("check_out"), "check_out", key)
            if check_out and not check_in:
                raise BadRecordError(
                    f"record {key}: check_out {shown(check_out)} without a check_in; Odoo's attendance needs "
                    "a check-in (a missing_in day: fix the punches and the next sync sends it)"
                )
            pairs = []
            if check_in:
                start = self._utc(self._moment(check_in, key), key)
                end = self._utc(self._moment(check_out, key), key) if check_out else None
                if end is not None and end < start:
                    raise BadRecordError(f"record {key}: check-out {check_out} is before check-in {check_in}")
                pairs.append((start, end))
        return sorted(pairs, key=lambda pair: pair[0])

    @staticmethod
    def _moment(text: str, key: str) -> datetime:
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise BadRecordError(
                f"record {key}: {shown(text)} is not an ISO-8601 time such as {_EXAMPLE} (map the column from "
                "first_in, last_out or intervals without a format)"
            ) from None
        if value.utcoffset() is None:
            raise BadRecordError(f"record {key}: {shown(text)} has no UTC offset, so the instant is unknown")
        return value

    def _utc(self, value: datetime, key: str) -> datetime:
        """A local time with offset as naive UTC (Odoo's form), to the second."""
        offset = value.utcoffset()
        assert offset is not None  # parse_intervals and _moment refuse times without one
        seen = (offset, value.date())
        if seen not in self._offsets_checked:
            self._offsets_checked.add(seen)
            if not self._warned_offset and offset != value.astimezone(self.zone).utcoffset():
                self._warned_offset = True
                log.warning(
                    "%s: times such as %s carry another offset than the time zone %s gives; set `timezone` to the "
                    "site's zone, or days are matched and read back in the wrong zone",
                    self.where,
                    value.isoformat(),
                    self.timezone,
                )
        return (value - offset).replace(tzinfo=None, microsecond=0)


@dataclass
class Plan:
    """What to change in Odoo for a batch: attendances to remove, to write, to create (each with its day)."""

    unlink: list[tuple[int, Day]] = field(default_factory=list)
    writes: list[tuple[int, dict[str, Any], Day]] = field(default_factory=list)
    creates: list[tuple[dict[str, Any], Day]] = field(default_factory=list)


def plan(days: list[Day]) -> Plan:
    """Per day: keep matches, at most one write, else unlink what is wrong and create what is missing."""
    found = Plan()
    for day in days:
        if day.error is not None:
            continue
        held = sorted(day.held, key=lambda h: (h.check_in, h.id))
        kept: list[Held] = []
        moved: list[tuple[Held, tuple[datetime, datetime | None]]] = []
        missing: list[tuple[datetime, datetime | None]] = []
        for start, end in day.wanted:
            same = next((h for h in held if h.check_in == start), None)
            if same is None:
                missing.append((start, end))
                continue
            held.remove(same)
            if same.check_out == end:
                kept.append(same)
            else:
                moved.append((same, (start, end)))
        if len(held) == 1 and len(missing) == 1 and not moved:
            moved.append((held.pop(), missing.pop()))
        if len(moved) > 1:  # several writes could overlap each other on the way: replace instead
            held += [h for h, _ in moved]
            missing += [pair for _, pair in moved]
            moved = []
        day.ids = [h.id for h in kept]
        found.unlink += [(h.id, day) for h in held]
        for attendance, (start, end) in moved:
            values: dict[str, Any] = {"check_out": odoo_text(end) if end is not None else False}
            if attendance.check_in != start:
                values["check_in"] = odoo_text(start)
            found.writes.append((attendance.id, values, day))
        for start, end in missing:
            values = {"employee_id": day.employee, "check_in": odoo_text(start)}
            if end is not None:
                values["check_out"] = odoo_text(end)
            found.creates.append((values, day))
    return found
