"""The period a reconciliation covers, from the text an operator or a scheduled job gives.

    2026-10                    the calendar month
    2026-10-05..2026-10-11     those days, both included
    last_week                  Monday to Sunday of the week before the one `today` is in
    last_month                 the calendar month before the one `today` is in
    this_month                 the calendar month `today` is in

`today` is passed in (the scheduler's clock in the job's time zone), never read here.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from punchbridge.reconcile.errors import PeriodError

__all__ = ["MAX_PERIOD_DAYS", "PERIOD_FORMS", "RELATIVE_PERIODS", "parse_period"]

#: The longest period (days) one reconciliation reads back: a target reads a year at most at once.
MAX_PERIOD_DAYS = 366
#: The relative labels `parse_period` takes.
RELATIVE_PERIODS = ("last_week", "last_month", "this_month")
_MONTH = re.compile(r"(\d{4})-(\d{2})")
_RANGE = re.compile(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})")
#: Every form `parse_period` takes, as `--period`'s help and its error messages say them.
PERIOD_FORMS = (
    "YYYY-MM (a month), YYYY-MM-DD..YYYY-MM-DD (days, both included), "
    + ", ".join(RELATIVE_PERIODS[:-1])
    + f" or {RELATIVE_PERIODS[-1]}"
)
_FORMS = f"use {PERIOD_FORMS}"


def _shown(text: object) -> str:
    shown = repr(text)
    return shown if len(shown) <= 60 else shown[:40] + f"...({len(shown) - 40} more characters)"


def _month(year: int, month: int) -> tuple[date, date]:
    first = date(year, month, 1)
    following = date(year + (month == 12), month % 12 + 1, 1)
    return first, following - timedelta(days=1)


def parse_period(text: str, today: date) -> tuple[date, date]:
    """The first and last day (inclusive) of the period `text` names; PeriodError saying the forms otherwise."""
    if not isinstance(text, str):
        raise PeriodError(f"period {_shown(text)} is not text: {_FORMS}")
    stripped = text.strip()
    label = stripped.lower()
    if label == "last_week":
        monday = today - timedelta(days=today.weekday() + 7)
        return monday, monday + timedelta(days=6)
    if label == "last_month":
        previous = today.replace(day=1) - timedelta(days=1)
        return _month(previous.year, previous.month)
    if label == "this_month":
        return _month(today.year, today.month)
    month = _MONTH.fullmatch(stripped)
    if month:
        year, number = int(month.group(1)), int(month.group(2))
        if not 1 <= number <= 12 or year < 1:
            raise PeriodError(f"period {_shown(text)}: there is no month {number:02d} of year {year}: {_FORMS}")
        return _month(year, number)
    days = _RANGE.fullmatch(stripped)
    if days:
        try:
            start, end = date.fromisoformat(days.group(1)), date.fromisoformat(days.group(2))
        except ValueError as exc:
            raise PeriodError(f"period {_shown(text)}: {exc}: {_FORMS}") from None
        if end < start:
            raise PeriodError(f"period {_shown(text)} ends before it starts: give the earlier day first")
        if (end - start).days + 1 > MAX_PERIOD_DAYS:
            raise PeriodError(
                f"period {_shown(text)} is {(end - start).days + 1} days, more than {MAX_PERIOD_DAYS}: "
                "reconcile a year or less at a time"
            )
        return start, end
    raise PeriodError(f"period {_shown(text)} is not a period: {_FORMS}")
