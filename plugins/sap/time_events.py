"""Processed days as clock events (clock in, clock out, break start, break end): pure, shared by the SAP targets.

SAP takes attendance as time events: SAP HCM's TEVEN types P10 clock-in, P20 clock-out, P15 break
start and P25 break end, and SuccessFactors' Clock In Clock Out events of the same four kinds. A
processed day gives them through the mapping's columns:

- `intervals` (`from: intervals`): `start/end;start/end;start/`, local ISO-8601 times with offset;
  an open interval ends in `/`. The first interval's start is the clock-in, the last one's end the
  clock-out, and each gap between two intervals a break (the end before it starts the break, the
  start after it ends it). An open last interval has no clock-out yet.
- or `check_in` and `check_out` (`from: first_in`, `from: last_out`): one clock-in and one clock-out.

Each event keeps its ordinal among the day's events of its kind (the second break start is 2), so an
event has a natural key (employee, work date, kind, ordinal) that stays the same when the day is
sent again. A record that cannot become events raises `BadRecordError`, whose text is the dead letter.
"""

from __future__ import annotations

import contextlib
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from punchbridge.plugin_api import BadRecordError, IntervalsError, Record, parse_intervals

__all__ = [
    "BREAK_END",
    "BREAK_START",
    "CLOCK_IN",
    "CLOCK_OUT",
    "KINDS",
    "TimeEvent",
    "day_events",
    "employee_of",
    "record_kind",
    "work_date_of",
]

CLOCK_IN, CLOCK_OUT, BREAK_START, BREAK_END = "clock_in", "clock_out", "break_start", "break_end"
KINDS = (CLOCK_IN, CLOCK_OUT, BREAK_START, BREAK_END)


@dataclass(frozen=True)
class TimeEvent:
    """One clock event of a day: its kind, local time (with offset) and ordinal among that kind."""

    kind: str
    moment: datetime
    ordinal: int = 1


def employee_of(record: Record, what: str) -> str:
    """The record's `employee` column as text; BadRecordError when empty (`what` names the id the target needs)."""
    value = record.fields.get("employee")
    if isinstance(value, bool) or value is None or (isinstance(value, float) and math.isnan(value)):
        value = ""
    text = str(value).strip()
    if not text:
        raise BadRecordError(f"record {record.key}: column `employee` is empty; it must hold the {what}")
    return text


def work_date_of(record: Record) -> date:
    """The work date: the middle of the engine's key `EMPLOYEE|YYYY-MM-DD|kind`, else a `date` column."""
    parts = record.key.rsplit("|", 2)
    candidates = [parts[1]] if len(parts) == 3 else []
    candidates += [str(record.fields.get(name) or "") for name in ("work_date", "date")]
    for text in candidates:
        with contextlib.suppress(ValueError):
            return date.fromisoformat(text[:10])
    raise BadRecordError(f"record {record.key}: no work date (the key is not EMPLOYEE|YYYY-MM-DD|kind)")


def record_kind(record: Record) -> str:
    """The last part of the engine's key (`day` for a processed day), for natural keys."""
    parts = record.key.rsplit("|", 2)
    return parts[2] if len(parts) == 3 and parts[2] else "day"


def local_time(value: Any, column: str, record_key: str) -> datetime | None:
    """A local ISO-8601 time with offset (None when empty); BadRecordError when it is not one."""
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return None
    moment: datetime | None = None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and ("T" in value or " " in value.strip()):
        with contextlib.suppress(ValueError):
            moment = datetime.fromisoformat(value.strip())
    if moment is None or moment.tzinfo is None:
        raise BadRecordError(
            f"record {record_key}: {column} {value!r} is not a local ISO-8601 time with offset like "
            "2025-10-06T09:02:00+05:30 (map it `from: first_in`, `from: last_out` or `from: intervals`, without a "
            "format)"
        )
    return moment


def _intervals(value: Any, record_key: str) -> list[tuple[datetime | None, datetime | None]]:
    try:
        return [(start, end) for start, end in parse_intervals(value)]
    except IntervalsError as exc:
        raise BadRecordError(f"record {record_key}: {exc}") from None


def _check_order(pairs: Sequence[tuple[datetime | None, datetime | None]], record_key: str) -> None:
    moments = [moment for pair in pairs for moment in pair if moment is not None]
    if any(later < earlier for earlier, later in itertools.pairwise(moments)):
        raise BadRecordError(f"record {record_key}: the intervals overlap or are not in time order")


def day_events(record: Record, columns: Sequence[str] | Mapping[str, Any]) -> list[TimeEvent]:
    """The record's clock events in time order (see the module docstring); BadRecordError when it has none readable."""
    if "intervals" in columns:
        pairs = _intervals(record.fields.get("intervals"), record.key)
    else:
        start = local_time(record.fields.get("check_in"), "check_in", record.key)
        end = local_time(record.fields.get("check_out"), "check_out", record.key)
        if start and end and end < start:
            raise BadRecordError(
                f"record {record.key}: check_out {record.fields.get('check_out')} is before check_in "
                f"{record.fields.get('check_in')}"
            )
        pairs = [(start, end)] if start or end else []
    _check_order(pairs, record.key)
    events: list[TimeEvent] = []
    counts = dict.fromkeys(KINDS, 0)
    last = len(pairs) - 1
    for position, (start, end) in enumerate(pairs):
        for moment, kind in (
            (start, CLOCK_IN if position == 0 else BREAK_END),
            (end, CLOCK_OUT if position == last else BREAK_START),
        ):
            if moment is not None:
                counts[kind] += 1
                events.append(TimeEvent(kind, moment, counts[kind]))
    return events
