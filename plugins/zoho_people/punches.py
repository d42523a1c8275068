"""Records as the punches Zoho People takes, and Zoho's punches as the mapping's columns (pure: no connection).

A record (one employee-day) stands for punches: from `check_in` and `check_out` (first in, last
out: two punches at most) or from `intervals` (`punchbridge.rules.intervals`: a check-in at each
start, a check-out at each end). Zoho takes a check-in time without offset, as `yyyy-MM-dd
HH:mm:ss`, and shows it back to the minute (getAttendanceEntries' entries read "03-Mar-2023 - 09:00
AM"), so a punch is `("in" | "out", wall time truncated to the minute)`: what is sent is what Zoho
shows, and a resend or a read-back never differs by seconds. The wall time is taken in the zone the
target gives (`ZohoPeopleTarget.entry_zone_of`): the record's site zone by default, or, when no zone
is known, the time as the rules engine wrote it (its site's offset dropped). A day's natural key is
(Zoho identifier, work date); the day Zoho files it under is the date of its first punch.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from punchbridge.plugin_api import (
    BadRecordError,
    FatalTargetError,
    IntervalsError,
    Record,
    format_intervals,
    parse_intervals,
)
from punchbridge.plugins.zoho_people.settings import WIRE

__all__ = [
    "Day",
    "DayKey",
    "Punch",
    "day_of",
    "held_intervals",
    "minute",
    "pack",
    "remote_id",
    "stale_punches",
    "stored_fields",
    "word",
    "zoho_time",
]

Punch = tuple[str, str]  # ("in" | "out", "YYYY-MM-DD HH:MM:00" wall time)
DayKey = tuple[str, str]  # (Zoho identifier value, work date ISO)
#: Times Zoho writes in read-back replies: the day's `firstIn` form, the entries' documented form
#: ("03-Mar-2023 - 09:00 AM"), then other shapes clients report; all read to the minute.
_READ_FORMATS = (
    WIRE, "%d-%b-%Y - %I:%M %p", "%d-%b-%Y %I:%M %p", "%d-%b-%Y %H:%M:%S", "%d-%b-%Y %H:%M", "%d/%m/%Y %H:%M:%S",
    "%d-%m-%Y %H:%M:%S", "%Y-%m-%d %H:%M",
)  # fmt: skip


@dataclass(frozen=True)
class Day:
    """One record as the punches it stands for."""

    record: Record
    employee: str
    work_date: str
    punches: frozenset[Punch]

    @property
    def key(self) -> DayKey:
        """(Zoho identifier, work date): the day's natural key."""
        return (self.employee, self.work_date)

    @property
    def zoho_date(self) -> str:
        """The date Zoho files the day under: its first punch's (a check-in opens Zoho's attendance day)."""
        return min(moment for _, moment in self.punches)[:10] if self.punches else self.work_date


def _to_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _wall(value: Any, column: str, record_key: str, zone: ZoneInfo | None) -> str:
    """A local ISO-8601 time as the wall-clock text Zoho takes, to the minute."""
    if isinstance(value, datetime):
        moment: datetime | None = value
    elif isinstance(value, str) and ("T" in value or " " in value.strip()):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            moment = None
    else:
        moment = None
    if moment is None:
        raise BadRecordError(
            f"record {record_key}: {column} {value!r} is not a local ISO-8601 time like 2025-10-06T09:02:00+05:30 "
            "(map it `from: first_in`, `from: last_out` or `from: intervals`, without a format)"
        )
    return _to_minute(_in_zone(moment, zone)).strftime(WIRE)


def _in_zone(moment: datetime, zone: ZoneInfo | None) -> datetime:
    """`moment` as naive wall-clock time in `zone` (as written when no zone or no offset is known)."""
    if zone is not None and moment.tzinfo is not None:
        moment = moment.astimezone(zone)
    return moment.replace(tzinfo=None)


def _work_date(record: Record) -> str:
    parts = record.key.rsplit("|", 2)
    candidates = [parts[1]] if len(parts) == 3 else []
    candidates += [str(record.fields.get(name) or "") for name in ("work_date", "date")]
    for text in candidates:
        with contextlib.suppress(ValueError):
            return date.fromisoformat(text[:10]).isoformat()
    raise BadRecordError(f"record {record.key}: no work date (the key is not EMPLOYEE|YYYY-MM-DD|day)")


def _employee(record: Record, identify_by: str) -> str:
    value = record.fields.get("employee")
    if isinstance(value, bool) or value is None or (isinstance(value, float) and math.isnan(value)):
        value = ""
    text = str(value).strip()
    if not text:
        raise BadRecordError(f"record {record.key}: column `employee` is empty; it must hold the Zoho {identify_by}")
    return text


def _interval_punches(value: Any, record_key: str, zone: ZoneInfo | None) -> set[Punch]:
    # A time written without offset is taken as the wall time it is.
    try:
        intervals = parse_intervals(value, require_offset=False)
    except IntervalsError as exc:
        raise BadRecordError(f"record {record_key}: {exc}") from None
    punches: set[Punch] = set()
    for start, end in intervals:
        punches.add(("in", _to_minute(_in_zone(start, zone)).strftime(WIRE)))
        if end is not None:
            punches.add(("out", _to_minute(_in_zone(end, zone)).strftime(WIRE)))
    return punches


def day_of(record: Record, mode: str, identify_by: str, zone: ZoneInfo | None = None) -> Day:
    """The punches one record stands for, as wall times in `zone` (BadRecordError when it cannot be sent)."""
    employee, work_date = _employee(record, identify_by), _work_date(record)
    if mode == "intervals":
        punches = _interval_punches(record.fields.get("intervals"), record.key, zone)
    else:
        punches = set()
        check_in, check_out = record.fields.get("check_in"), record.fields.get("check_out")
        start = _wall(check_in, "check_in", record.key, zone) if check_in not in (None, "") else None
        end = _wall(check_out, "check_out", record.key, zone) if check_out not in (None, "") else None
        if start and end and end < start:
            raise BadRecordError(f"record {record.key}: check_out {check_out} is before check_in {check_in}")
        punches |= {("in", start)} if start else set()
        punches |= {("out", end)} if end else set()
    return Day(record, employee, work_date, frozenset(punches))


def stored_fields(fields: Mapping[str, Any]) -> Mapping[str, Any]:
    """`fields` with `check_in`, `check_out` and `intervals` truncated to the minute (what Zoho shows);
    a value that does not read as a time is left as it is (the push refuses it with a message)."""

    def truncated(value: Any) -> Any:
        if isinstance(value, str) and value.strip():
            with contextlib.suppress(ValueError):
                return _to_minute(datetime.fromisoformat(value.strip())).isoformat()
        return value

    stored = dict(fields)
    for column in ("check_in", "check_out"):
        if column in stored:
            stored[column] = truncated(stored[column])
    if isinstance(stored.get("intervals"), str) and stored["intervals"].strip():
        with contextlib.suppress(IntervalsError):
            pairs = parse_intervals(stored["intervals"], require_offset=False)
            stored["intervals"] = format_intervals(
                (_to_minute(start), _to_minute(end) if end is not None else None) for start, end in pairs
            )
    return stored


def minute(punches: set[Punch]) -> set[Punch]:
    """Punches with their times truncated to the minute (a ledger written before times were)."""
    return {(kind, moment[:16] + ":00" if len(moment) >= 16 else moment) for kind, moment in punches}


def stale_punches(mode: str, wanted: frozenset[Punch], held: set[Punch]) -> list[Punch]:
    """Punches Zoho holds that make its view of the day differ from `wanted` (the API cannot remove them).

    With first in/last out, only a held check-in before the wanted one (or any, when none is wanted)
    and a held check-out after the wanted one matter: Zoho's first in and last out are min and max.
    """
    extra = held - wanted
    if mode == "intervals":
        return sorted(extra, key=lambda p: p[1])
    first = min((t for kind, t in wanted if kind == "in"), default=None)
    last = max((t for kind, t in wanted if kind == "out"), default=None)
    matters = [
        (kind, t)
        for kind, t in extra
        if (kind == "in" and (first is None or t < first)) or (kind == "out" and (last is None or t > last))
    ]
    return sorted(matters, key=lambda p: p[1])


def word(kind: str) -> str:
    """`check-in` or `check-out`, for messages."""
    return "check-in" if kind == "in" else "check-out"


def pack(days: Sequence[tuple[DayKey, list[Punch]]], size: int) -> list[list[tuple[DayKey, Punch]]]:
    """Punches into calls of at most `size`, a day's punches kept in one call where they fit."""
    calls: list[list[tuple[DayKey, Punch]]] = []
    current: list[tuple[DayKey, Punch]] = []
    for key, punches in days:
        if current and len(current) + len(punches) > size:
            calls.append(current)
            current = []
        for punch in punches:
            if len(current) == size:
                calls.append(current)
                current = []
            current.append((key, punch))
    if current:
        calls.append(current)
    return calls


def zoho_time(text: Any, api: str) -> str | None:
    """A time from a Zoho reply as wire text to the minute (None when empty); TargetError when unreadable."""
    if text in (None, "", "-", "--"):
        return None
    if isinstance(text, str):
        for pattern in _READ_FORMATS:
            with contextlib.suppress(ValueError):
                return _to_minute(datetime.strptime(text.strip(), pattern)).strftime(WIRE)
    raise FatalTargetError(f"Zoho People {api} answered a time punchbridge cannot read: {text!r}")


def held_intervals(punches: set[Punch], local: Callable[[str], datetime]) -> str:
    """The `intervals` text of the punches Zoho holds for a day (`local` turns wire text into the site's
    time): each check-in opens an interval, the next check-out closes it (a check-out without one is
    written with an empty start)."""
    pairs: list[tuple[datetime | None, datetime | None]] = []
    current: datetime | None = None
    for kind, moment in sorted(punches, key=lambda p: (p[1], p[0])):
        if kind == "in":
            if current is not None:
                pairs.append((current, None))
            current = local(moment)
        else:
            pairs.append((current, local(moment)))
            current = None
    if current is not None:
        pairs.append((current, None))
    return format_intervals(pairs)


def remote_id(day: Day) -> str:
    """The remote id of a day Zoho holds: `IDENTIFIER|WORK DATE`."""
    return f"{day.employee}|{day.work_date}"
