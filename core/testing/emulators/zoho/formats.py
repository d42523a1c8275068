"""Zoho's date patterns and attendance days as the emulator keeps them: Java `SimpleDateFormat`, day views."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import ClassVar

__all__ = ["MAX_SHIFT", "DayView", "JavaDateFormat", "attribute_days"]

#: The longest a check-out may follow its check-in and still belong to its day (a night shift).
MAX_SHIFT = timedelta(hours=24)


class JavaDateFormat:
    """A Java `SimpleDateFormat` pattern as Zoho takes them: `yyyy MM MMM dd HH hh mm ss a` and literals.

    Parsing is strict: the text must match the pattern exactly and name a real date and time.
    """

    _TOKENS: ClassVar[dict[str, tuple[str, str]]] = {
        "yyyy": (r"(?P<year>\d{4})", "%Y"),
        "MMM": (r"(?P<month_name>[A-Za-z]{3})", "%b"),
        "MM": (r"(?P<month>\d{2})", "%m"),
        "dd": (r"(?P<day>\d{2})", "%d"),
        "HH": (r"(?P<hour>\d{2})", "%H"),
        "hh": (r"(?P<hour12>\d{2})", "%I"),
        "mm": (r"(?P<minute>\d{2})", "%M"),
        "ss": (r"(?P<second>\d{2})", "%S"),
        "a": (r"(?P<ampm>AM|PM)", "%p"),
    }
    _MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        regex, strftime, seen = [], [], []
        position = 0
        while position < len(pattern):
            for token, (part, directive) in self._TOKENS.items():
                if pattern.startswith(token, position):
                    if token in seen:
                        raise ValueError(f"date format {pattern!r} has {token} twice")
                    seen.append(token)
                    regex.append(part)
                    strftime.append(directive)
                    position += len(token)
                    break
            else:
                char = pattern[position]
                if char.isalpha():
                    raise ValueError(f"date format {pattern!r}: unsupported letter {char!r}")
                regex.append(re.escape(char))
                strftime.append("%%" if char == "%" else char)
                position += 1
        if "hh" in seen and "a" not in seen:
            raise ValueError(f"date format {pattern!r}: hh needs a (AM/PM)")
        self.has_time = any(t in seen for t in ("HH", "hh"))
        if not {"yyyy", "dd"} <= set(seen) or not ({"MM", "MMM"} & set(seen)):
            raise ValueError(f"date format {pattern!r} needs yyyy, MM (or MMM) and dd")
        self._regex = re.compile("".join(regex))
        self._strftime = "".join(strftime)

    def date_part(self) -> JavaDateFormat:
        """The pattern up to its first time letter (`yyyy-MM-dd HH:mm:ss` -> `yyyy-MM-dd`)."""
        cut = min((i for i in (self.pattern.find(t) for t in ("HH", "hh")) if i >= 0), default=len(self.pattern))
        return JavaDateFormat(self.pattern[:cut].rstrip(" T-/:.,"))

    def parse(self, text: str) -> datetime:
        """`text` as a naive datetime; ValueError when it does not match the pattern exactly."""
        found = self._regex.fullmatch(text) if isinstance(text, str) else None
        if found is None:
            raise ValueError(f"{text!r} does not match {self.pattern!r}")
        parts = found.groupdict()
        month = int(parts["month"]) if parts.get("month") else None
        if parts.get("month_name"):
            name = parts["month_name"].title()
            if name not in self._MONTHS:
                raise ValueError(f"{text!r}: no month {parts['month_name']!r}")
            month = self._MONTHS.index(name) + 1
        hour = int(parts.get("hour") or 0)
        if parts.get("hour12"):
            hour12 = int(parts["hour12"])
            if not 1 <= hour12 <= 12:
                raise ValueError(f"{text!r}: hour {hour12} is not 01-12")
            hour = hour12 % 12 + (12 if parts["ampm"] == "PM" else 0)
        return datetime(
            int(parts["year"]), month or 0, int(parts["day"]), hour, int(parts.get("minute") or 0),
            int(parts.get("second") or 0),
        )  # fmt: skip

    def format(self, value: datetime | date) -> str:
        """`value` written in the pattern."""
        return value.strftime(self._strftime)


@dataclass(frozen=True)
class DayView:
    """What Zoho shows for one employee and attendance day: punches, pairs, first in, last out."""

    employee: str
    work_date: date
    punches: tuple[tuple[datetime, str], ...]  # (time, "in" | "out"), in time order
    entries: tuple[tuple[datetime | None, datetime | None], ...]

    @property
    def first_in(self) -> datetime | None:
        """The earliest check-in of the day."""
        return min((t for t, kind in self.punches if kind == "in"), default=None)

    @property
    def last_out(self) -> datetime | None:
        """The latest check-out of the day."""
        return max((t for t, kind in self.punches if kind == "out"), default=None)

    @property
    def total_minutes(self) -> int:
        """Minutes of the complete check-in/check-out pairs."""
        return sum(int((out - start).total_seconds() // 60) for start, out in self.entries if start and out)


def attribute_days(employee_id: str, punches: Iterable[tuple[datetime, str]]) -> dict[date, DayView]:
    """Group an employee's punches by attendance day and pair them (see the module docstring)."""
    grouped: dict[date, list[tuple[datetime, str]]] = {}
    open_in: tuple[datetime, date] | None = None
    for moment, kind in sorted(punches):
        if kind == "in":
            day = moment.date()
            open_in = (moment, day)
        elif open_in is not None and moment - open_in[0] <= MAX_SHIFT:
            day = open_in[1]
            open_in = None
        else:
            day = moment.date()
        grouped.setdefault(day, []).append((moment, kind))
    views = {}
    for day, held in grouped.items():
        entries: list[tuple[datetime | None, datetime | None]] = []
        current: datetime | None = None
        for moment, kind in held:
            if kind == "in":
                if current is not None:
                    entries.append((current, None))
                current = moment
            else:
                entries.append((current, moment))
                current = None
        if current is not None:
            entries.append((current, None))
        views[day] = DayView(employee_id, day, tuple(held), tuple(entries))
    return views
