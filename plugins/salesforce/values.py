"""Values between punchbridge's mapping and Salesforce field types (pure: data in, data out).

A mapped value is converted to the JSON value of its field's type as describe reports it; one that
cannot be converted is the record's dead letter (`BadRecordError`), since Salesforce would refuse the whole
call with JSON_PARSER_ERROR for it. A date-time without an offset is read in the record's site zone
(`Target.zone_of`); Salesforce keeps every date-time as a UTC instant (Salesforce Help 000385916), so it
is sent in UTC. Going back, Salesforce's date-times are read as aware datetimes.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from punchbridge.plugin_api import BadRecordError, TargetReplyError

#: Field types that take text.
TEXT = frozenset({"string", "textarea", "email", "picklist", "multipicklist", "phone", "url", "combobox", "reference"})
#: Field types that take numbers.
NUMBER = frozenset({"double", "currency", "percent", "int", "long"})


def to_salesforce(kind: str, value: Any, column: str, key: str, zone: tzinfo | None = None) -> Any:
    """A mapped value as the JSON value of a Salesforce field of type `kind`; BadRecordError when it cannot be.

    A date-time without an offset is a wall clock in `zone` (the record's site zone), when there is one.
    """
    if value is None or (value == "" and kind not in TEXT):
        return None
    shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
    if kind in TEXT:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float | str):
            return value if isinstance(value, str) else str(value)
    elif kind in NUMBER:
        number: float | None = None
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):
            try:
                number = float(value.strip().replace(",", "."))
            except ValueError:
                number = None
        if number is not None and math.isfinite(number):
            if kind in ("int", "long"):
                if number != int(number):
                    raise BadRecordError(f"record {key}: {column} is {shown}, but the field takes whole numbers")
                return int(number)
            return int(number) if isinstance(value, int) else number
    elif kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
    elif kind == "date":
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
            try:
                return date.fromisoformat(value.strip()).isoformat()
            except ValueError:
                pass
    elif kind == "datetime":
        if isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value.strip())
            except ValueError:
                moment = None
            if moment is not None and moment.tzinfo is None and zone is not None:
                moment = moment.replace(tzinfo=zone)  # fold=0: a wall time in a DST overlap is the first
            if moment is not None and moment.tzinfo is None:
                raise BadRecordError(
                    f"record {key}: {column} is {shown}, a time without offset, so the instant is unknown"
                )
            if moment is not None:
                return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    else:
        return value
    expected = {
        "date": "a date YYYY-MM-DD (no `format:` on it)",
        "datetime": "an ISO-8601 time with offset",
        "boolean": "true or false",
    }.get(kind, "a number" if kind in NUMBER else "text")
    raise BadRecordError(f"record {key}: {column} is {shown}, not {expected} as the {kind} field needs")


def reply_time(text: str, where: str) -> datetime:
    """A Salesforce date-time of a reply as an aware datetime (UTC when it has no offset)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise TargetReplyError(f"{where}: {text!r} is not a Salesforce date-time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
