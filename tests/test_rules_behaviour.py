"""Readings of docs/rules.md that the spec's worked examples do not pin down, on both engines."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest
from support.builders import (
    BERLIN,
    MONDAY,
    SUNDAY,
    employees_frame,
    leaves_frame,
    local_instant,
    local_iso,
    make_inputs,
    make_rules,
    make_shift,
    night_shift,
    punches_at,
    run_one_day,
)

TUESDAY = MONDAY + timedelta(days=1)


# ----------------------------------------------------------------------------- pairing (step 4)


def test_directions_mode_ignores_repeated_in_and_missing_in(compute):
    times = ["09:00", "09:30", "13:00", "13:30", "14:00", "18:00"]
    directions = ["in", "in", "out", "out", "in", "out"]
    row = run_one_day(compute, times, make_rules(), directions=directions)
    assert row["worked_minutes"] == 480  # 09:00-13:00 and 14:00-18:00
    assert row["anomalies"] == "missing_in;repeated_in"
    assert row["first_in"] == local_iso(MONDAY, "09:00")
    assert row["last_out"] == local_iso(MONDAY, "18:00")
    assert row["punch_count"] == 6


def test_break_and_ot_directions_count_as_out_and_in(compute):
    times = ["09:00", "13:00", "13:30", "18:00", "18:30", "20:00"]
    directions = ["in", "break_out", "break_in", "out", "ot_in", "ot_out"]
    row = run_one_day(compute, times, make_rules(), directions=directions)
    assert row["worked_minutes"] == 600  # 240 + 270 + 90
    assert row["ot_minutes"] == 90
    assert row["regular_minutes"] == 510
    assert row["anomalies"] == ""


def test_directions_used_only_when_every_punch_has_one_and_mode_is_auto(compute):
    # One punch without a direction: the occurrence alternates (09:00-13:00, 18:00 open).
    mixed = run_one_day(compute, ["09:00", "13:00", "18:00"], make_rules(), directions=["in", None, "out"])
    assert (mixed["worked_minutes"], mixed["anomalies"]) == (240, "missing_out")
    # pairing.direction alternate ignores directions: (09:00-09:30), (13:00-18:00).
    times, directions = ["09:00", "09:30", "13:00", "18:00"], ["in", "in", "out", "out"]
    alternate = run_one_day(compute, times, make_rules(pairing={"direction": "alternate"}), directions=directions)
    assert (alternate["worked_minutes"], alternate["anomalies"]) == (330, "")


def test_first_last_spans_first_to_last_punch_and_ignores_directions(compute):
    rules = make_rules(hours_from="first_last")
    row = run_one_day(compute, ["09:00", "12:00", "12:30", "18:00"], rules, directions=["in", "in", "in", "in"])
    assert (row["worked_minutes"], row["anomalies"], row["status"]) == (540, "", "present")
    lone = run_one_day(compute, ["09:00"], rules)
    assert (lone["worked_minutes"], lone["anomalies"]) == (0, "missing_out;short_shift")
    assert (lone["first_in"], lone["last_out"]) == (local_iso(MONDAY, "09:00"), "")


def test_debounce_compares_with_previous_kept_punch_across_devices(compute):
    punches = punches_at(["09:00:00", "09:01:30", "09:02:00", "13:00", "18:00"])
    punches["device_id"] = ["D1", "D2", "D1", "D1", "D1"]
    result = compute(make_inputs(punches), make_rules(), MONDAY, MONDAY)
    row = result.days.iloc[0]
    # 09:01:30 drops (90 s after 09:00, other device); 09:02:00 is exactly 120 s after the kept 09:00.
    assert row["punch_count"] == 4
    assert row["anomalies"] == "duplicates:1"
    assert row["worked_minutes"] == 302  # 09:00-09:02 and 13:00-18:00


def test_shift_end_closes_only_an_interval_opened_before_end(compute):
    rules = make_rules(missing_out="shift_end")
    row = run_one_day(compute, ["09:00", "18:00", "19:00"], rules)
    assert row["worked_minutes"] == 540  # the 19:00 IN stays open and earns nothing
    assert row["anomalies"] == "missing_out"
    assert row["last_out"] == local_iso(MONDAY, "18:00")


# ----------------------------------------------------------------------------- windows (steps 1-3)


def test_off_shift_punch_is_quarantined_with_its_columns_only_inside_the_range(compute):
    times = ["03:00", "09:00", "18:00", (TUESDAY, "03:00")]
    punches = punches_at(times, source=["a", "b", "c", "d"])
    result = compute(make_inputs(punches), make_rules(), MONDAY, MONDAY)
    off = result.quarantine
    assert list(off.columns) == ["employee_id", "instant", "device_id", "direction", "source", "reason"]
    assert len(off) == 1  # Tuesday 03:00 is off shift too, but its local date is outside the range
    assert off.iloc[0]["instant"] == local_instant(MONDAY, "03:00")
    assert (off.iloc[0]["source"], off.iloc[0]["reason"]) == ("a", "off_shift")
    row = result.days.iloc[0]
    assert (row["punch_count"], row["worked_minutes"], row["anomalies"]) == (2, 540, "")


def overlapping_rules():
    """Windows of 12 hours each way: Monday's and Tuesday's occurrences overlap Mon 21:00-Tue 06:00."""
    return make_rules(window_before=720, window_after=720)


def test_punch_exactly_on_the_overlap_midpoint_goes_to_the_earlier_occurrence(compute):
    # Midpoint of Monday's end (18:00) and Tuesday's start (09:00): Tuesday 01:30:00.
    on_mid = punches_at(["09:00", "18:00", (TUESDAY, "01:30:00")], employee_id="E1")
    after_mid = punches_at(["09:00", "18:00", (TUESDAY, "01:30:01")], employee_id="E2")
    inputs = make_inputs(pd.concat([on_mid, after_mid], ignore_index=True), employees_frame("E1", "E2"))
    days = compute(inputs, overlapping_rules(), MONDAY, TUESDAY).days
    counts = {(r["employee_id"], r["work_date"]): r["punch_count"] for r in days.to_dict("records")}
    assert counts == {
        ("E1", "2025-01-06"): 3,
        ("E1", "2025-01-07"): 0,
        ("E2", "2025-01-06"): 2,
        ("E2", "2025-01-07"): 1,
    }


def test_dropped_punch_is_counted_in_the_occurrence_that_holds_it(compute):
    # Tue 01:30 is kept for Monday; the double tap at 01:31 lies past the midpoint: Tuesday's.
    punches = punches_at(["09:00", "18:00", (TUESDAY, "01:30"), (TUESDAY, "01:31")])
    days = compute(make_inputs(punches), overlapping_rules(), MONDAY, TUESDAY).days
    monday, tuesday = days.iloc[0], days.iloc[1]
    assert (monday["punch_count"], monday["anomalies"]) == (3, "missing_out")
    assert (tuesday["punch_count"], tuesday["anomalies"], tuesday["status"]) == (0, "duplicates:1", "absent")


# ----------------------------------------------------------------------------- breaks (step 6)


def test_fixed_breaks_on_a_night_shift_lie_after_midnight(compute):
    breaks = [{"start": "23:30", "end": "00:15"}, {"start": "02:00", "end": "02:30"}]
    rules = make_rules(shifts={"general": night_shift(breaks=breaks)})
    row = run_one_day(compute, ["22:00", (TUESDAY, "06:00")], rules)
    assert row["break_minutes"] == 75  # 23:30-00:15 on Monday night, 02:00-02:30 on Tuesday
    assert row["worked_minutes"] == 405
    assert row["regular_minutes"] == 405


@pytest.mark.parametrize(
    ("settings", "times", "break_minutes", "worked"),
    [
        ({}, ["09:00", "18:00"], 30, 510),
        ({}, ["09:00", "14:59"], 0, 359),  # gross 359 has not reached 360
        ({"breaks": [{"start": "13:00", "end": "14:00"}]}, ["09:00", "18:00"], 60, 480),
        (
            {"breaks": [{"start": "13:00", "end": "14:00"}], "auto_break": {"after": 180, "minutes": 30}},
            ["09:00", "12:30"],
            30,
            180,
        ),  # the fixed break did not overlap: auto applies
    ],
    ids=["auto", "below_after", "fixed_applied", "fixed_not_overlapping"],
)
def test_auto_break_only_when_no_fixed_break_applied(compute, settings, times, break_minutes, worked):
    settings = {"auto_break": {"after": 360, "minutes": 30}} | settings
    row = run_one_day(compute, times, make_rules(**settings))
    assert (row["break_minutes"], row["worked_minutes"]) == (break_minutes, worked)


# ----------------------------------------------------------------------------- rounding (step 5)


def test_rounding_nearest_takes_half_up_on_the_local_grid(compute):
    rules = make_rules(rounding={"unit": 15, "in": "nearest", "out": "nearest"})
    row = run_one_day(compute, ["09:07:30", "17:52:29"], rules)
    assert (row["first_in"], row["last_out"]) == (local_iso(MONDAY, "09:15"), local_iso(MONDAY, "17:45"))
    assert (row["worked_minutes"], row["late_minutes"], row["early_exit_minutes"]) == (510, 15, 15)


def test_rounded_interval_with_end_before_start_counts_zero(compute):
    rules = make_rules(rounding={"unit": 15, "in": "up", "out": "down"})
    row = run_one_day(compute, ["10:05", "10:08"], rules)
    assert (row["first_in"], row["last_out"]) == (local_iso(MONDAY, "10:15"), local_iso(MONDAY, "10:00"))
    assert row["worked_minutes"] == 0
    assert (row["status"], row["anomalies"]) == ("absent", "short_shift")
    assert (row["late_minutes"], row["early_exit_minutes"]) == (75, 480)


# ----------------------------------------------------------------------------- leave and status (9-10)


@pytest.mark.parametrize(
    ("leaves", "times", "status", "leave_days", "lop_days", "anomalies"),
    [
        ([("first_half", True)], [], "half_day", 0.5, 0.5, ""),
        ([("first_half", True)], ["13:30", "18:00"], "present", 0.5, 0.0, ""),
        ([("second_half", True)], ["09:00", "11:00"], "present", 0.5, 0.0, ""),  # 120 is not below 120
        ([("second_half", False)], ["09:00", "10:00"], "half_day", 0.5, 1.0, "short_shift"),
        ([("first_half", True), ("second_half", False)], [], "on_leave", 1.0, 0.5, ""),
    ],
    ids=["paid_half_no_punches", "paid_half_worked", "worked_exactly_absent_below", "unpaid_half_short", "both_halves"],
)
def test_half_day_leave(compute, leaves, times, status, leave_days, lop_days, anomalies):
    leave_rows = leaves_frame(*[("E1", MONDAY, kind, paid) for kind, paid in leaves])
    result = compute(make_inputs(punches_at(times), leaves=leave_rows), make_rules(), MONDAY, MONDAY)
    row = result.days.iloc[0]
    assert (row["status"], row["leave_days"], row["lop_days"], row["anomalies"]) == (
        status,
        leave_days,
        lop_days,
        anomalies,
    )


@pytest.mark.parametrize(
    ("paid", "times", "lop_days", "worked", "anomalies"),
    [
        (False, [], 1.0, 0, ""),
        (False, ["09:00", "18:00"], 1.0, 540, "worked_on_leave"),
        (True, ["09:00", "18:00"], 0.0, 540, "worked_on_leave"),
    ],
    ids=["unpaid", "unpaid_worked", "paid_worked"],
)
def test_full_day_leave_is_on_leave_and_unpaid_is_full_lop(compute, paid, times, lop_days, worked, anomalies):
    leave_rows = leaves_frame(("E1", MONDAY, "full", paid))
    result = compute(make_inputs(punches_at(times), leaves=leave_rows), make_rules(), MONDAY, MONDAY)
    row = result.days.iloc[0]
    assert (row["status"], row["leave_days"], row["lop_days"]) == ("on_leave", 1.0, lop_days)
    assert (row["worked_minutes"], row["anomalies"]) == (worked, anomalies)


def test_holiday_beats_weekly_off(compute):
    rules = make_rules(holidays=[SUNDAY, MONDAY])
    punches = punches_at(["10:00", "14:00"])  # worked on the Monday holiday
    days = compute(make_inputs(punches), rules, SUNDAY, TUESDAY).days
    got = [
        (r["work_date"], r["day_type"], r["status"], r["lop_days"], r["ot_minutes"]) for r in days.to_dict("records")
    ]
    assert got == [
        ("2025-01-05", "holiday", "holiday", 0.0, 0),
        ("2025-01-06", "holiday", "present", 0.0, 240),
        ("2025-01-07", "workday", "absent", 1.0, 0),
    ]


# ----------------------------------------------------------------------------- DST (step 0)


def test_spring_forward_local_punch_moves_forward_by_the_gap(compute):
    saturday, sunday = date(2025, 3, 29), date(2025, 3, 30)  # Berlin: 02:00 CET became 03:00 CEST
    assert local_instant(sunday, "02:30", BERLIN) == pd.Timestamp("2025-03-30T01:30:00Z")
    rules = make_rules(timezone=BERLIN, shifts={"general": night_shift()})
    row = run_one_day(compute, ["22:00", (sunday, "02:30")], rules, day=saturday, tz=BERLIN)
    assert row["last_out"] == "2025-03-30T03:30:00+02:00"
    assert row["worked_minutes"] == 270  # 21:00Z to 01:30Z
    assert row["early_exit_minutes"] == 150  # end 06:00 CEST is 04:00Z


def test_shift_start_in_the_spring_forward_gap_moves_forward(compute):
    sunday = date(2025, 3, 30)
    rules = make_rules(timezone=BERLIN, weekly_off=("sat",), shifts={"general": make_shift("02:30", "10:00")})
    row = run_one_day(compute, ["03:31", "10:00"], rules, day=sunday, tz=BERLIN)
    assert row["late_minutes"] == 1  # start 02:30 does not exist: it is 03:30 CEST
    assert row["worked_minutes"] == 389
