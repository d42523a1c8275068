"""The 14 worked examples of `attendance-rules.md`, each against both engine implementations.

Site Asia/Kolkata (weekly off Sunday) and shift `general` 09:00 to 18:00 with default settings
unless the example says otherwise; Monday 2025-01-06 is the work date.
"""

from __future__ import annotations

from datetime import date, timedelta

from support.builders import (
    BERLIN,
    MONDAY,
    SUNDAY,
    local_iso,
    make_inputs,
    make_rules,
    night_shift,
    only_row,
    punches_at,
    run_one_day,
)

TUESDAY = MONDAY + timedelta(days=1)


def test_example_01_early_in_late_out_within_ot_min_is_not_overtime(compute):
    row = run_one_day(compute, ["08:55", "18:05"], make_rules())
    assert row["status"] == "present"
    assert row["worked_minutes"] == 550
    assert row["ot_minutes"] == 0  # ot_raw 5 is under ot.min 30
    assert row["regular_minutes"] == 545  # 550 - ot_raw 5
    assert row["late_minutes"] == 0


def test_example_02_in_after_grace_is_late_from_shift_start(compute):
    row = run_one_day(compute, ["09:12", "18:00"], make_rules(grace_in=10))
    assert row["late_minutes"] == 12
    assert row["worked_minutes"] == 528
    assert row["status"] == "present"


def test_example_03_in_within_grace_is_not_late(compute):
    row = run_one_day(compute, ["09:08", "18:00"], make_rules(grace_in=10))
    assert row["late_minutes"] == 0
    assert row["worked_minutes"] == 532


def test_example_04_double_tap_is_debounced_and_pairs_stay_aligned(compute):
    row = run_one_day(compute, ["09:00", "09:00:40", "13:00", "13:30", "18:00"], make_rules())
    assert row["anomalies"] == "duplicates:1"
    assert row["punch_count"] == 4
    assert row["worked_minutes"] == 510  # 09:00-13:00 and 13:30-18:00


def test_example_05_odd_punch_count_is_missing_out_and_last_out_is_last_closed_pair(compute):
    row = run_one_day(compute, ["09:00", "13:00", "13:30"], make_rules())
    assert row["anomalies"] == "missing_out"
    assert row["worked_minutes"] == 240
    assert row["status"] == "present"  # 240 is not below half_day_below 240
    assert row["last_out"] == local_iso(MONDAY, "13:00")
    assert row["early_exit_minutes"] == 300


def test_example_06_single_punch_is_missing_out_short_shift_absent(compute):
    row = run_one_day(compute, ["09:00"], make_rules())
    assert row["anomalies"] == "missing_out;short_shift"
    assert row["worked_minutes"] == 0
    assert row["status"] == "absent"
    assert row["lop_days"] == 1


def test_example_07_missing_out_shift_end_closes_at_end_and_keeps_the_anomaly(compute):
    row = run_one_day(compute, ["09:00"], make_rules(missing_out="shift_end"))
    assert row["worked_minutes"] == 540
    assert row["status"] == "present"
    assert row["anomalies"] == "missing_out"


def test_example_08_overtime_rounded_down_to_unit(compute):
    row = run_one_day(compute, ["09:00", "20:10"], make_rules())
    assert row["worked_minutes"] == 670
    assert row["ot_minutes"] == 120  # ot_raw 130 down to a multiple of 15
    assert row["regular_minutes"] == 540


def test_example_09_overtime_under_min_is_paid_as_neither(compute):
    row = run_one_day(compute, ["09:00", "18:20"], make_rules())
    assert row["ot_minutes"] == 0  # ot_raw 20 is under 30
    assert row["regular_minutes"] == 540


def test_example_10_work_on_weekly_off_is_all_overtime(compute):
    row = run_one_day(compute, ["10:00", "14:00"], make_rules(), day=SUNDAY)
    assert row["work_date"] == "2025-01-05"
    assert row["day_type"] == "weekly_off"
    assert row["status"] == "present"
    assert row["worked_minutes"] == 240
    assert row["ot_minutes"] == 240
    assert row["regular_minutes"] == 0
    assert row["late_minutes"] == 0


def test_example_11_no_punches_on_a_workday_is_absent_with_full_lop(compute):
    result = compute(make_inputs(), make_rules(), MONDAY, MONDAY)
    row = only_row(result.days)
    assert row["day_type"] == "workday"
    assert row["status"] == "absent"
    assert row["lop_days"] == 1


def test_example_12_night_shift_out_after_midnight_belongs_to_start_date(compute):
    rules = make_rules(shifts={"general": night_shift()})
    punches = punches_at(["21:50", (TUESDAY, "06:05")])
    result = compute(make_inputs(punches), rules, MONDAY, MONDAY)
    assert result.quarantine.empty
    row = only_row(result.days)
    assert row["work_date"] == "2025-01-06"
    assert row["punch_count"] == 2
    assert row["worked_minutes"] == 495
    assert row["ot_minutes"] == 0
    assert row["first_in"] == local_iso(MONDAY, "21:50")
    assert row["last_out"] == local_iso(TUESDAY, "06:05")
    # With Tuesday in the range too, the night still makes one row with punches, not two.
    both = compute(make_inputs(punches), rules, MONDAY, TUESDAY).days
    assert list(both["work_date"]) == ["2025-01-06", "2025-01-07"]
    assert list(both["punch_count"]) == [2, 0]


def test_example_13_night_shift_across_fall_back_counts_utc_duration(compute):
    saturday, sunday = date(2025, 10, 25), date(2025, 10, 26)
    rules = make_rules(timezone=BERLIN, shifts={"general": night_shift()})
    row = run_one_day(compute, ["22:00", (sunday, "06:00")], rules, day=saturday, tz=BERLIN)
    assert row["work_date"] == "2025-10-25"
    assert row["day_type"] == "workday"
    assert row["worked_minutes"] == 540  # clocks went back at 03:00: 9 hours, not 8
    assert row["ot_minutes"] == 0
    assert row["first_in"] == local_iso(saturday, "22:00", "+02:00")
    assert row["last_out"] == local_iso(sunday, "06:00", "+01:00")


def test_example_14_rounding_moves_first_in_up_and_last_out_down(compute):
    rules = make_rules(rounding={"unit": 15, "in": "up", "out": "down"})
    row = run_one_day(compute, ["09:07", "17:52"], rules)
    assert row["first_in"] == local_iso(MONDAY, "09:15")
    assert row["last_out"] == local_iso(MONDAY, "17:45")
    assert row["worked_minutes"] == 510
    assert row["late_minutes"] == 15
    assert row["early_exit_minutes"] == 15
