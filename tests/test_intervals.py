"""The `intervals` text of a processed day: what the rules engine writes, targets read back unchanged."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import numpy as np
import pyarrow as pa
import pytest
from support.builders import MONDAY, make_rules, run_one_day

from punchbridge.rules import compute_days
from punchbridge.rules.intervals import Interval, IntervalsError, format_intervals, join_intervals, parse_intervals

IST = timezone(timedelta(hours=5, minutes=30))
LMT = timezone(timedelta(hours=5, minutes=53, seconds=28))  # a zone's offset before 1900 has seconds


def _at(hour: int, minute: int = 0, zone: timezone = IST) -> datetime:
    return datetime(2025, 3, 3, hour, minute, tzinfo=zone)


def test_the_engines_text_reads_back_as_its_intervals_and_writes_back_the_same() -> None:
    row = run_one_day(compute_days, ["09:02", "13:00", "13:45"], make_rules())
    text = row["intervals"]
    day = MONDAY.isoformat()
    assert parse_intervals(text) == [
        Interval(datetime.fromisoformat(f"{day}T09:02:00+05:30"), datetime.fromisoformat(f"{day}T13:00:00+05:30")),
        Interval(datetime.fromisoformat(f"{day}T13:45:00+05:30"), None),
    ]
    assert format_intervals(parse_intervals(text)) == text


@pytest.mark.parametrize(
    "intervals",
    [
        [],
        [Interval(_at(9), _at(18))],
        [Interval(_at(9), _at(13)), Interval(_at(13, 45), None)],
        [Interval(_at(22), _at(23) + timedelta(hours=7))],  # a night shift ends the next morning
        [Interval(_at(9, zone=LMT), _at(17, zone=LMT))],
    ],
)
def test_written_intervals_read_back_as_they_were(intervals: list[Interval]) -> None:
    assert parse_intervals(format_intervals(intervals)) == intervals


def test_the_text_is_start_slash_end_joined_by_semicolons_an_open_end_left_empty() -> None:
    text = format_intervals([(_at(9, 2), _at(13)), (_at(13, 45), None)])
    assert text == "2025-03-03T09:02:00+05:30/2025-03-03T13:00:00+05:30;2025-03-03T13:45:00+05:30/"


@pytest.mark.parametrize("empty", ["", "  ", None, math.nan, ";"])
def test_an_empty_cell_is_a_day_without_intervals(empty: object) -> None:
    assert parse_intervals(empty) == []


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2025-03-03T09:00:00+05:30", "is not start/end"),
        ("/", "is not start/end"),
        ("/2025-03-03T18:00:00+05:30", "is not start/end"),
        ("2025-03-03T09:00:00+05:30/2025-03-03T13:00:00+05:30/2025-03-03T14:00:00+05:30", "is not start/end"),
        ("09:00/18:00", "is not a local ISO-8601 time with offset"),
        ("2025-03-03T09:00:00/", "is not a local ISO-8601 time with offset"),
        ("2025-03-03T25:00:00+05:30/", "is not a local ISO-8601 time with offset"),
        ("2025-03-03T18:00:00+05:30/2025-03-03T09:00:00+05:30", "ends before it starts"),
        ("garbage", "is not start/end"),
    ],
)
def test_a_malformed_text_is_refused_naming_the_text_and_what_is_wrong(text: str, reason: str) -> None:
    with pytest.raises(IntervalsError) as refused:
        parse_intervals(text)
    assert reason in str(refused.value)
    assert repr(text) in str(refused.value) and refused.value.text == text


def test_a_value_that_is_not_text_is_refused() -> None:
    with pytest.raises(IntervalsError, match="is not text of start/end pairs"):
        parse_intervals(930)


def test_a_huge_cell_is_named_shortened_in_the_message() -> None:
    with pytest.raises(IntervalsError) as refused:
        parse_intervals("9" * 100_000)
    assert len(str(refused.value)) < 1_000


def test_wall_clock_times_are_read_only_when_asked_for() -> None:
    text = "2025-03-03T09:00:00/2025-03-03T18:00:00"
    with pytest.raises(IntervalsError):
        parse_intervals(text)
    assert parse_intervals(text, require_offset=False) == [Interval(datetime(2025, 3, 3, 9), datetime(2025, 3, 3, 18))]


def test_an_end_a_target_holds_without_its_start_is_written_but_not_taken_back() -> None:
    text = format_intervals([(None, _at(18))])
    assert text == "/2025-03-03T18:00:00+05:30"
    with pytest.raises(IntervalsError):
        parse_intervals(text)


def test_many_days_at_once_give_the_text_of_each_day() -> None:
    days = [[(_at(9), _at(13)), (_at(14), None)], [], [(_at(22), _at(23))]]
    starts = pa.array([start.isoformat() for day in days for start, _ in day], type=pa.string())
    ends = pa.array([end.isoformat() if end else "" for day in days for _, end in day], type=pa.string())
    joined = join_intervals(starts, ends, np.array([len(day) for day in days]))
    assert joined.to_pylist() == [format_intervals(day) for day in days]
