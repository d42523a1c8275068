"""Exact re-sends (same employee, device and instant) are used once; the copies are quarantined."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from punchbridge.rules import AttendanceInputs, RuleSet, compute_days

RULES = RuleSet.model_validate(
    {"sites": {"blr": {"timezone": "Asia/Kolkata"}}, "shifts": {"general": {"start": "09:00", "end": "18:00"}}}
)
STAFF = pd.DataFrame({"employee_id": ["E1"], "site": ["blr"], "shift": ["general"], "weekly_off": [None]})
MONDAY = date(2025, 1, 6)


def _punches(order: list[int]) -> pd.DataFrame:
    instants = pd.to_datetime(["2025-01-06T09:00:00+05:30"] * 3 + ["2025-01-06T18:00:00+05:30"], utc=True)
    frame = pd.DataFrame(
        {"employee_id": "E1", "instant": instants, "device_id": "D1", "direction": "in", "tag": "abcd"}
    )
    frame.loc[3, "direction"] = "out"
    frame["tag"] = ["first copy", "second copy", "third copy", "out"]
    return frame.iloc[order].reset_index(drop=True)


@pytest.mark.parametrize("order", [[0, 1, 2, 3], [2, 1, 0, 3], [3, 2, 0, 1]])
def test_exact_resend_is_counted_once_and_the_earliest_row_is_used(order: list[int]) -> None:
    punches = _punches(order)
    result = compute_days(AttendanceInputs(punches, STAFF), RULES, MONDAY, MONDAY)
    (day,) = result.days.itertuples()
    assert (day.worked_minutes, day.punch_count, day.anomalies) == (540, 2, "")
    held = result.quarantine
    assert list(held["reason"]) == ["duplicate_punch", "duplicate_punch"]
    copies = [i for i, tag in enumerate(punches["tag"]) if tag.endswith("copy")]
    assert set(held["same_as"]) == {copies[0]}, "the copies must point at the earliest input row"
    assert set(held["tag"]) == {punches["tag"][i] for i in copies[1:]}
