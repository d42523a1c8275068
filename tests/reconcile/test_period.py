"""`--period` and a job's `period:`: the forms an operator writes, and the messages for the others."""

from __future__ import annotations

from datetime import date

import pytest

from punchbridge.reconcile import PeriodError, parse_period

WEDNESDAY = date(2026, 11, 4)


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("2026-10", date(2026, 10, 1), date(2026, 10, 31)),
        ("2026-02", date(2026, 2, 1), date(2026, 2, 28)),
        ("2028-02", date(2028, 2, 1), date(2028, 2, 29)),
        ("2026-12", date(2026, 12, 1), date(2026, 12, 31)),
        ("2026-10-05..2026-10-11", date(2026, 10, 5), date(2026, 10, 11)),
        ("2026-10-05..2026-10-05", date(2026, 10, 5), date(2026, 10, 5)),
        ("  2026-10 ", date(2026, 10, 1), date(2026, 10, 31)),
    ],
)
def test_a_month_or_a_range_of_days_is_read_as_written(text: str, first: date, last: date) -> None:
    assert parse_period(text, WEDNESDAY) == (first, last)


def test_last_week_is_monday_to_sunday_of_the_week_before_today() -> None:
    assert parse_period("last_week", WEDNESDAY) == (date(2026, 10, 26), date(2026, 11, 1))
    assert parse_period("last_week", date(2026, 11, 2)) == (date(2026, 10, 26), date(2026, 11, 1))  # a Monday
    assert parse_period("last_week", date(2026, 11, 8)) == (date(2026, 10, 26), date(2026, 11, 1))  # a Sunday


def test_last_month_is_the_calendar_month_before_today_across_a_year_end() -> None:
    assert parse_period("last_month", WEDNESDAY) == (date(2026, 10, 1), date(2026, 10, 31))
    assert parse_period("last_month", date(2027, 1, 1)) == (date(2026, 12, 1), date(2026, 12, 31))
    assert parse_period("LAST_MONTH", date(2026, 3, 31)) == (date(2026, 2, 1), date(2026, 2, 28))


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("2026-13", "no month 13"),
        ("2026-00", "no month 00"),
        ("2026-10-31..2026-10-01", "ends before it starts"),
        ("2026-02-30..2026-03-02", "day is out of range"),
        ("2020-01-01..2026-01-01", "more than 366"),
        ("last_fortnight", "is not a period"),
        ("", "is not a period"),
        ("2026-10..2026-11", "is not a period"),
        ("2026-10-01 .. 2026-10-05", "is not a period"),
        ("2026/10", "is not a period"),
    ],
)
def test_a_wrong_period_says_what_is_wrong_and_which_forms_work(text: str, said: str) -> None:
    with pytest.raises(PeriodError) as raised:
        parse_period(text, WEDNESDAY)
    message = str(raised.value)
    assert said in message
    assert repr(text.strip()) in message or repr(text) in message
    assert raised.value.exit_code == 2


def test_a_wrong_period_names_the_accepted_forms() -> None:
    with pytest.raises(PeriodError, match=r"YYYY-MM .*YYYY-MM-DD\.\.YYYY-MM-DD.*last_week, last_month or this_month"):
        parse_period("yesterday", WEDNESDAY)


def test_a_huge_or_binary_period_text_is_shown_shortened() -> None:
    with pytest.raises(PeriodError) as raised:
        parse_period("\x00" * 10_000, WEDNESDAY)
    assert len(str(raised.value)) < 400
    assert "more characters" in str(raised.value)


def test_a_period_that_is_not_text_is_refused() -> None:
    with pytest.raises(PeriodError, match="is not text"):
        parse_period(202610, WEDNESDAY)  # type: ignore[arg-type]


def test_this_month_is_the_calendar_month_today_is_in() -> None:
    assert parse_period("this_month", date(2026, 2, 14)) == (date(2026, 2, 1), date(2026, 2, 28))
