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

__all__ = ["decimal_hours", "stored_fields", "to_the_second"]

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


def to_the_second(value: Any) -> Any:
    """A local ISO-8601 time without its fraction of a second (unchanged when it has none or is not one)."""
    if isinstance(value, datetime):
        return value.replace(microsecond=0)
    if not isinstance(value, str) or "." not in value:
        return value
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return value
    return moment.replace(microsecond=0).isoformat()


def _intervals_to_the_second(value: Any) -> Any:
    if not isinstance(value, str) or "." not in value:
        return value
    try:
        pairs = parse_intervals(value)
    except IntervalsError:
        return value
    return format_intervals(
        [(start.replace(microsecond=0), end.replace(microsecond=0) if end else None) for start, end in pairs]
    )


def stored_fields(fields: Mapping[str, Any], hours_decimals: int) -> dict[str, Any]:
    """`fields` as SuccessFactors keeps them (see the module docstring); the other columns unchanged."""
    stored = dict(fields)
    if "hours" in stored:
        with contextlib.suppress(InvalidOperation):  # not a number: left for push to refuse, named
            hours = decimal_hours(stored["hours"], hours_decimals)
            stored["hours"] = None if hours is None else float(hours)
    for column in _TIME_COLUMNS:
        if column in stored:
            stored[column] = to_the_second(stored[column])
    if "intervals" in stored:
        stored["intervals"] = _intervals_to_the_second(stored["intervals"])
    return stored
