"""Values as SuccessFactors keeps them (pure): hours at ExternalTimeData's decimal scale, times to the second.

The sync engine hashes and sends a record's *stored form* (`SuccessFactorsTarget.stored_form`), and
reconciliation compares what SuccessFactors holds with it, so a value SuccessFactors keeps at a lower
precision is never a difference nor a resend:

- `hours` is an Edm.Decimal (SAP's generated OData model of ExternalTimeData); the scale the tenant
  keeps is not published (the `hours_decimals` setting, default 2): 8.333333 is stored as 8.33.
  Halves round up (8.125 -> 8.13), as payroll rounds.
- `startTime`/`endTime` are Edm.Time, which this target sends to the second (`PT09H02M07S`), and the
  Time Events REST API's timestamp is `yyyy-MM-dd'T'HH:mm:ssZ` (to the second): a fraction of a
  second is dropped from `check_in`, `check_out` and every bound of `intervals`.

A value that is not what it should be is left as it is: `push` refuses it with a message naming it.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from punchbridge.plugin_api import IntervalsError, format_intervals, parse_intervals

__all__ = ["decimal_hours", "stored_fields", "stored_times", "to_the_second"]

_TIME_COLUMNS = ("check_in", "check_out")


def decimal_hours(value: Any, places: int) -> Decimal | None:
    """`value` (a number or its text, `,` or `.` decimal) rounded half up to `places` decimals; None when it
    is empty; InvalidOperation when it is not a finite number."""
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool):
        raise InvalidOperation(f"{value!r} is not a number")
    hours = Decimal(str(value).strip().replace(",", "."))
    if not hours.is_finite():
        raise InvalidOperation(f"{value!r} is not finite")
    return hours.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _cut(moment: datetime, to_the_minute: bool) -> datetime:
    return moment.replace(second=0, microsecond=0) if to_the_minute else moment.replace(microsecond=0)


def to_the_second(value: Any, to_the_minute: bool = False) -> Any:
    """A local ISO-8601 time without its fraction of a second (and its seconds, `to_the_minute`); unchanged
    when it has none or is not one."""
    if isinstance(value, datetime):
        return _cut(value, to_the_minute)
    if not isinstance(value, str) or not value.strip():
        return value
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return value
    cut = _cut(moment, to_the_minute)
    return value if cut == moment else cut.isoformat()


def _intervals_cut(value: Any, to_the_minute: bool) -> Any:
    if not isinstance(value, str) or not value.strip():
        return value
    try:
        pairs = parse_intervals(value)
    except IntervalsError:
        return value
    cut = [(_cut(start, to_the_minute), _cut(end, to_the_minute) if end else None) for start, end in pairs]
    return value if cut == [(start, end) for start, end in pairs] else format_intervals(cut)


def stored_times(fields: Mapping[str, Any], to_the_minute: bool = False) -> dict[str, Any]:
    """`fields` with `check_in`, `check_out` and every bound of `intervals` cut to the second (or minute)."""
    stored = dict(fields)
    for column in _TIME_COLUMNS:
        if column in stored:
            stored[column] = to_the_second(stored[column], to_the_minute)
    if "intervals" in stored:
        stored["intervals"] = _intervals_cut(stored["intervals"], to_the_minute)
    return stored


def stored_fields(fields: Mapping[str, Any], hours_decimals: int) -> dict[str, Any]:
    """`fields` as SuccessFactors keeps them (see the module docstring); the other columns unchanged."""
    stored = stored_times(fields)
    if "hours" in stored:
        with contextlib.suppress(InvalidOperation):  # not a number: left for push to refuse, named
            hours = decimal_hours(stored["hours"], hours_decimals)
            if hours is not None:  # a text stays text (a mapping's `format:`), a number a number
                stored["hours"] = str(hours) if isinstance(stored["hours"], str) else float(hours)
    return stored
