"""Reading the times terminals and the cloud write, and judging whether a punch time is plausible.

Two forms, each one regular expression used both to parse and (as `pattern`) in the OpenAPI document,
so the document describes exactly what is accepted:

- `LogTime` of a push: `YYYY-MM-DD HH:MM[:SS[.fraction]]` (or `T` between), then nothing (local wall
  time of the device's site), `Z`, `UTC`, `GMT`, `GMT +hhmm` / `GMT -hh:mm`, or `+hh:mm` / `+hhmm`.
- a webhook `timestamp` (RFC 3339): `YYYY-MM-DDTHH:MM:SS[.fraction]` then `Z` or `+hh:mm`.

A time of the right shape that is no real moment (30 February, year 0000) is not a malformed request:
it is a terminal's clock gone wrong, and is quarantined like any other implausible time (`NotAMomentError`).
A local wall time that does not exist (spring forward) moves forward by the gap; an ambiguous one
(fall back) is its first occurrence, as in the rules engine (`punchbridge.rules.clock`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

__all__ = [
    "LOG_TIME_PATTERN",
    "RFC3339_PATTERN",
    "NotAMomentError",
    "implausible",
    "instant_ns",
    "parse_log_time",
    "parse_rfc3339",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DATE = r"(?P<year>[0-9]{4})-(?P<month>0[1-9]|1[0-2])-(?P<day>0[1-9]|[12][0-9]|3[01])"
_CLOCK = r"(?P<hour>[01][0-9]|2[0-3]):(?P<minute>[0-5][0-9])"
_SECONDS = r":(?P<second>[0-5][0-9])(?:\.(?P<fraction>[0-9]{1,9}))?"


def _offset(name: str, colon: str) -> str:
    return rf"(?P<{name}_sign>[+-])(?P<{name}_hours>[01][0-9]|2[0-3]){colon}(?P<{name}_minutes>[0-5][0-9])"


_LOG_TIME = (
    rf"{_DATE}[T ]{_CLOCK}(?:{_SECONDS})?"
    rf"(?: ?(?:(?P<utc>Z|UTC)|(?P<gmt>GMT)(?: ?{_offset('gmt', ':?')})?|{_offset('iso', ':?')}))?"
)
_RFC3339 = rf"{_DATE}[Tt]{_CLOCK}{_SECONDS}(?:(?P<utc>[Zz])|{_offset('iso', ':')})"


def _for_json_schema(pattern: str) -> str:
    """The same expression in JSON Schema's dialect (ECMA 262): anchored, without group names.

    Digits are written `[0-9]`, not `\\d`: in Python `\\d` also matches other scripts' digits, so a
    generator reading the document would produce times this parser refuses."""
    return "^" + re.sub(r"\(\?P<\w+>", "(?:", pattern) + "$"


LOG_TIME_PATTERN = _for_json_schema(_LOG_TIME)
RFC3339_PATTERN = _for_json_schema(_RFC3339)
_LOG_TIME_RE = re.compile(_LOG_TIME, re.ASCII)
_RFC3339_RE = re.compile(_RFC3339, re.ASCII)


class NotAMomentError(ValueError):
    """A time of the right shape that names no real moment (its message says why)."""


@lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


_WALL_GROUPS = ("year", "month", "day", "hour", "minute", "second", "fraction")
_OFFSET_GROUPS = tuple((f"{name}_sign", f"{name}_hours", f"{name}_minutes") for name in ("gmt", "iso"))


def _moment(match: re.Match[str], zone: str | None) -> datetime:
    year, month, day, hour, minute, second, fraction = match.group(*_WALL_GROUPS)
    try:
        wall = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second or 0),
            int((fraction or "").ljust(6, "0")[:6]),
        )
    except ValueError as exc:
        raise NotAMomentError(f"not a real date and time ({exc})") from None
    names = match.re.groupindex
    for sign_group, hours_group, minutes_group in _OFFSET_GROUPS:
        sign = match.group(sign_group) if sign_group in names else None
        if sign:
            offset = timedelta(hours=int(match.group(hours_group)), minutes=int(match.group(minutes_group)))
            aware = wall.replace(tzinfo=timezone(-offset if sign == "-" else offset))
            break
    else:
        if match.group("utc") or ("gmt" in names and match.group("gmt")) or zone is None:
            aware = wall.replace(tzinfo=UTC)
        else:
            aware = wall.replace(tzinfo=_zone(zone), fold=0)
    try:
        return aware.astimezone(UTC)
    except OverflowError:
        raise NotAMomentError("not a moment a punch can have (out of range)") from None


def parse_log_time(text: str, zone: str) -> datetime:
    """A push's LogTime as a UTC datetime (no offset: wall time in `zone`).

    ValueError when the text is not of the accepted shape; `NotAMomentError` when it is but names no moment.
    """
    match = _LOG_TIME_RE.fullmatch(text)
    if match is None:
        raise ValueError(
            "is not a date and time like 2026-01-08 17:30:00 (optionally followed by Z, GMT +0300 or +03:00)"
        )
    return _moment(match, zone)


def parse_rfc3339(text: str) -> datetime:
    """An RFC 3339 timestamp with its offset as a UTC datetime (ValueError / `NotAMomentError` as above)."""
    match = _RFC3339_RE.fullmatch(text)
    if match is None:
        raise ValueError("is not an RFC 3339 date and time with an offset, like 2026-01-08T11:09:09Z")
    return _moment(match, None)


def instant_ns(moment: datetime) -> int:
    """Nanoseconds since the epoch of an aware datetime (microsecond precision)."""
    return ((moment - _EPOCH) // timedelta(microseconds=1)) * 1000


def implausible(moment: datetime, now: datetime, past_days: int, future_minutes: int) -> str | None:
    """Why a punch at `moment`, received at `now`, cannot be trusted; None when it can."""
    if moment < now - timedelta(days=past_days):
        return f"more than {past_days} days before it was received (device clock reset?)"
    if moment > now + timedelta(minutes=future_minutes):
        return f"more than {future_minutes} minutes after it was received (device clock ahead?)"
    return None
