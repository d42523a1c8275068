"""Processed days as clock events: clock in, breaks, clock out (shared by both SAP targets)."""

from __future__ import annotations

from datetime import date

import pytest

from punchbridge.plugin_api import BadRecordError, Record
from punchbridge.plugins.sap.time_events import day_events, record_kind, work_date_of


def _record(**fields: object) -> Record:
    return Record("C001|2025-10-06|day", {"employee": "1001", **fields}, "h")


def _kinds(record: Record, columns: tuple[str, ...] = ("employee", "intervals")) -> list[tuple[str, str, int]]:
    return [(e.kind, e.moment.strftime("%H:%M"), e.ordinal) for e in day_events(record, columns)]


def test_the_first_start_is_the_clock_in_the_last_end_the_clock_out_and_gaps_are_breaks() -> None:
    day = _record(intervals="2025-10-06T09:00:00+05:30/2025-10-06T12:00:00+05:30;"
                            "2025-10-06T12:30:00+05:30/2025-10-06T15:00:00+05:30;"
                            "2025-10-06T15:10:00+05:30/2025-10-06T18:00:00+05:30")  # fmt: skip
    assert _kinds(day) == [
        ("clock_in", "09:00", 1), ("break_start", "12:00", 1), ("break_end", "12:30", 1),
        ("break_start", "15:00", 2), ("break_end", "15:10", 2), ("clock_out", "18:00", 1),
    ]  # fmt: skip


def test_an_open_last_interval_has_no_clock_out() -> None:
    day = _record(intervals="2025-10-06T09:00:00+05:30/2025-10-06T12:00:00+05:30;2025-10-06T12:30:00+05:30/")
    assert _kinds(day) == [("clock_in", "09:00", 1), ("break_start", "12:00", 1), ("break_end", "12:30", 1)]


def test_first_in_last_out_gives_two_events_and_an_absent_day_none() -> None:
    columns = ("employee", "check_in", "check_out")
    day = _record(check_in="2025-10-06T09:00:00+05:30", check_out="2025-10-07T01:00:00+05:30")
    assert _kinds(day, columns) == [("clock_in", "09:00", 1), ("clock_out", "01:00", 1)]
    assert _kinds(_record(check_in="", check_out=None), columns) == []
    assert _kinds(_record(intervals="")) == []


@pytest.mark.parametrize(
    ("intervals", "message"),
    [
        ("2025-10-06T09:00:00/", "with offset"),
        ("09:00/18:00", "with offset"),
        ("2025-10-06T09:00:00+05:30", "not start/end"),
        ("/", "not start/end"),
        ("2025-10-06T18:00:00+05:30/2025-10-06T09:00:00+05:30", "ends before it starts"),
        ("2025-10-06T09:00:00+05:30/2025-10-06T13:00:00+05:30;2025-10-06T12:00:00+05:30/", "overlap"),
    ],
)
def test_a_day_that_cannot_be_events_is_refused_with_the_record_key(intervals: str, message: str) -> None:
    with pytest.raises(BadRecordError, match=message) as refused:
        day_events(_record(intervals=intervals), ("employee", "intervals"))
    assert "C001|2025-10-06|day" in str(refused.value)


def test_the_work_date_and_kind_come_from_the_engines_key() -> None:
    assert work_date_of(_record()) == date(2025, 10, 6) and record_kind(_record()) == "day"
    with pytest.raises(BadRecordError, match="no work date"):
        work_date_of(Record("odd-key", {}, "h"))
