"""Records as the attendance intervals of employee-days, each in its own site's zone (pure: no connection).

A record (one employee-day) is the day's intervals: one from `check_in` and `check_out`, or every
pair from `intervals` (`punchbridge.rules.intervals`). Times are local ISO-8601 with their offset;
Odoo holds naive UTC `YYYY-MM-DD HH:MM:SS`, to the second (the plugin sends whole seconds, so what
is sent is what Odoo stores: `stored_form`). "A day" of Odoo's attendances is those whose check-in
falls in the record's local day, in the zone the target gives the record (`Target.zone_of`: the
`timezone` override, else the record's site zone): Odoo itself stores no zone, so the zone only
decides which local day a stored attendance belongs to.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from punchbridge.plugin_api import BadRecordError, IntervalsError, Record, parse_intervals
from punchbridge.plugins.odoo.rpc import shown

__all__ = [
    "ODOO_DATETIME",
    "Day",
    "Held",
    "LocalDays",
    "is_id",
    "ledger_ids",
    "local_time",
    "odoo_text",
    "stored_times",
]

log = logging.getLogger("punchbridge.plugins.odoo")

#: Odoo's datetime format (naive UTC).
ODOO_DATETIME = "%Y-%m-%d %H:%M:%S"
_EXAMPLE = "2025-10-06T09:02:00+05:30"
_TIME_COLUMNS = ("check_in", "check_out")


@dataclass
class Held:
    """An hr.attendance Odoo holds: its id, employee and naive-UTC times, and who made it and how.

    `creator` is its `create_uid`; `in_mode`/`out_mode` are None where the version has no such
    field (before 17.0). A planned interval of this batch not yet in Odoo has id 0.
    """

    id: int
    employee: int
    check_in: datetime
    check_out: datetime | None
    creator: int | None = None
    creator_name: str = ""
    in_mode: str | None = None
    out_mode: str | None = None


@dataclass
class Day:
    """One record as the intervals of one employee-day in its zone, and what push did with it."""

    key: str
    employee_key: str
    work_date: date
    zone: ZoneInfo
    wanted: list[tuple[datetime, datetime | None]]  # naive UTC, by check-in
    start: datetime  # the local day as naive UTC, widened to hold every wanted interval
    end: datetime
    base: tuple[datetime, datetime]  # the local day itself
    #: The hr.attendance ids the ledger holds for this record (punchbridge's), or None when not known.
    owned: frozenset[int] | None = None
    employee: int = 0
    held: list[Held] = field(default_factory=list)  # the attendances of this local day (and of its wanted check-ins)
    pool: list[Held] = field(default_factory=list)  # every attendance of the employee that could conflict
    ours: list[int] = field(default_factory=list)  # punchbridge's attendances of the day before push
    ids: list[int] = field(default_factory=list)  # punchbridge's attendances of the day after push
    removed: list[int] = field(default_factory=list)  # punchbridge's attendances unlinked for the day
    error: str | None = None
    refused_by_odoo: bool = False  # Odoo itself answered a write of the day with a refusal

    def refuse(self, message: str) -> None:
        """Mark the day refused with Odoo's `message` (the first refusal stands)."""
        if self.error is None:
            self.error = f"Odoo: {message}"
            self.refused_by_odoo = True


def odoo_text(value: datetime) -> str:
    """A naive-UTC time as Odoo writes it."""
    return value.strftime(ODOO_DATETIME)


def local_time(moment: datetime, zone: ZoneInfo) -> datetime:
    """A naive-UTC time of Odoo's in `zone`."""
    return moment.replace(tzinfo=UTC).astimezone(zone)


def is_id(value: Any) -> bool:
    """Whether `value` is a record id (a positive int, not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def ledger_ids(record: Record) -> frozenset[int] | None:
    """The hr.attendance ids the ledger recorded for `record` when it was last delivered, or None when unknown.

    The delivery hands them over as `record.remote_id` (the `remote_id` this target's outcome gave,
    `hr.attendance:ID,ID`, read from the ledger before each push); a record without it (a first
    delivery, or a ledger row lost to an erase) leaves ownership to Odoo's `create_uid` (see `plan`).
    """
    remote = record.remote_id
    if not isinstance(remote, str) or not remote.startswith("hr.attendance:"):
        return None
    ids = remote.removeprefix("hr.attendance:").split(",")
    return frozenset(int(i) for i in ids if i.strip().isdigit())


def stored_times(fields: Mapping[str, Any]) -> Mapping[str, Any]:
    """`fields` with every time in `check_in`, `check_out` and `intervals` cut to whole seconds, as Odoo keeps them.

    Values without a fraction of a second (the usual case) are left exactly as they are, so their
    text, and the record's hash, do not change; a value that is not a time is left for `push` to refuse.
    """
    changed: dict[str, Any] = {}
    for column in _TIME_COLUMNS:
        value = fields.get(column)
        if isinstance(value, str) and "." in value:
            try:
                moment = datetime.fromisoformat(value.strip())
            except ValueError:
                continue
            changed[column] = moment.replace(microsecond=0).isoformat()
    value = fields.get("intervals")
    if isinstance(value, str) and "." in value:
        try:
            intervals = parse_intervals(value)
        except IntervalsError:
            intervals = []
        if intervals:
            changed["intervals"] = ";".join(
                f"{start.replace(microsecond=0).isoformat()}/{end.replace(microsecond=0).isoformat() if end else ''}"
                for start, end in intervals
            )
    return {**fields, **changed} if changed else fields


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
    """Local days as naive UTC in any zone, and records as the intervals Odoo should hold for them.

    Warns once a run when a record's offsets are not those of the zone its day is placed in (the
    `timezone` override differs from the site's zone, or the record has no site zone): days would
    be matched and read back in the wrong zone.
    """

    def __init__(self, employee_by: str, where: str) -> None:
        self.employee_by, self.where = employee_by, where
        self._warned_offset = False
        self._offsets_checked: set[tuple[timedelta, date, str]] = set()
        self._midnights: dict[tuple[date, str], datetime] = {}

    def midnight(self, day: date, zone: ZoneInfo) -> datetime:
        """The start of local `day` in `zone` as naive UTC."""
        found = self._midnights.get((day, zone.key))
        if found is None:
            found = datetime.combine(day, time(), zone).astimezone(UTC).replace(tzinfo=None)
            self._midnights[(day, zone.key)] = found
        return found

    def day(self, record: Record, zone: ZoneInfo) -> Day:
        """The record as a `Day` in `zone`; BadRecordError naming the record when it cannot be intervals."""
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
        wanted = self._wanted(record, zone)
        for (start, end), (next_start, _) in itertools.pairwise(wanted):
            if end is not None and end > next_start:
                raise BadRecordError(f"record {record.key}: intervals starting {start} and {next_start} (UTC) overlap")
        work_date = _work_date(record.key)
        if work_date is None:
            if not wanted:
                raise BadRecordError(f"record {record.key}: no work date in its key and no interval to take one from")
            work_date = local_time(wanted[0][0], zone).date()
        base = (self.midnight(work_date, zone), self.midnight(work_date + timedelta(days=1), zone))
        bounds = [moment for start, end in wanted for moment in (start, end) if moment is not None]
        start = min([base[0], *bounds])
        end = max([base[1], *(moment + timedelta(seconds=1) for moment in bounds)])
        return Day(record.key, employee_key, work_date, zone, wanted, start, end, base, ledger_ids(record))

    def _wanted(self, record: Record, zone: ZoneInfo) -> list[tuple[datetime, datetime | None]]:
        """The record's intervals in naive UTC, by check-in."""
        fields, key = record.fields, record.key
        if "intervals" in fields:
            try:
                intervals = parse_intervals(fields["intervals"])
            except IntervalsError as exc:
                raise BadRecordError(f"record {key}: {exc}") from None
            pairs = [
                (self._utc(start, key, zone), self._utc(end, key, zone) if end else None) for start, end in intervals
            ]
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
                start = self._utc(self._moment(check_in, key), key, zone)
                end = self._utc(self._moment(check_out, key), key, zone) if check_out else None
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

    def _utc(self, value: datetime, key: str, zone: ZoneInfo) -> datetime:
        """A local time with offset as naive UTC (Odoo's form), cut to the second as Odoo keeps it."""
        offset = value.utcoffset()
        assert offset is not None  # parse_intervals and _moment refuse times without one
        seen = (offset, value.date(), zone.key)
        if seen not in self._offsets_checked:
            self._offsets_checked.add(seen)
            if not self._warned_offset and offset != value.astimezone(zone).utcoffset():
                self._warned_offset = True
                log.warning(
                    "%s: times such as %s carry another offset than the zone %s gives them; give the site its "
                    "`timezone` (and leave the target's `timezone` unset), or days are matched and read back in "
                    "the wrong zone",
                    self.where,
                    value.isoformat(),
                    zone.key,
                )
        return (value - offset).replace(tzinfo=None, microsecond=0)
