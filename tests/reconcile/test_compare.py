"""The key-by-key comparison on its own: records in, findings out, no target and no store."""

from __future__ import annotations

from datetime import date

import pytest

from punchbridge.plugin_api.targets import HeldRecord
from punchbridge.reconcile import ExpectedRecord, compare, same_value
from punchbridge.reconcile.compare import daily_counts, is_locked

DAY = date(2026, 10, 5)
SKIP = {"employee"}


def expected(employee: str = "E1", day: date = DAY, **fields: object) -> ExpectedRecord:
    values = {"employee": employee, "check_in": f"{day}T09:02:00+05:30", "check_out": f"{day}T18:10:00+05:30"}
    values.update(fields)
    return ExpectedRecord(f"{employee}|{day}|day", employee, employee, day, values, "hash")


def held(employee: str = "E1", day: date = DAY, remote_id: str = "r1", **fields: object) -> HeldRecord:
    values: dict[str, object] = {"check_in": f"{day}T09:02:00+05:30", "check_out": f"{day}T18:10:00+05:30"}
    values.update(fields)
    return HeldRecord(employee, day, values, remote_id)


@pytest.mark.parametrize(
    ("computed", "shown"),
    [
        (480, 480.0),
        (480, "480"),
        (7.5, "7.50"),
        ("2026-10-05T09:02:00+05:30", "2026-10-05T03:32:00+00:00"),
        ("2026-10-05T09:02:00+05:30", "2026-10-05T03:32:00Z"),
        ("2026-10-05T09:02:00+05:30", "2026-10-05T09:02:00"),
        ("2026-10-05T09:02:00+05:30", "2026-10-05 09:02:00"),
        ("", None),
        (None, "  "),
        (float("nan"), None),
        (True, "true"),
        (False, 0),
        ("CC-OPS", " CC-OPS "),
        ("2026-10-05T09:00:00+05:30/2026-10-05T13:00:00+05:30;2026-10-05T13:30:00+05:30/",
         "2026-10-05T03:30:00+00:00/2026-10-05T07:30:00+00:00;2026-10-05T08:00:00+00:00/"),
        (date(2026, 10, 5), "2026-10-05"),
    ],
)  # fmt: skip
def test_values_that_mean_the_same_compare_equal(computed: object, shown: object) -> None:
    assert same_value(computed, shown)


@pytest.mark.parametrize(
    ("computed", "shown"),
    [
        (480, 481),
        ("2026-10-05T09:02:00+05:30", "2026-10-05T09:02:00+00:00"),
        ("2026-10-05T09:02:00+05:30", ""),
        ("CC-OPS", "CC-WRONG"),
        ("CC-OPS", "cc-ops"),
        (True, False),
        ("present", "absent"),
        ("480", "480 minutes"),
        ("2026-10-05T09:00:00+05:30/2026-10-05T13:00:00+05:30", "2026-10-05T09:00:00+05:30/"),
    ],
)
def test_values_that_differ_compare_different(computed: object, shown: object) -> None:
    assert not same_value(computed, shown)


def test_a_record_held_as_computed_is_matched() -> None:
    findings = compare([expected()], [held()], skip=SKIP)

    assert [(f.status, f.record_key, f.remote_id) for f in findings] == [("matched", "E1|2026-10-05|day", "r1")]


def test_a_record_the_target_does_not_hold_is_missing_with_what_punchbridge_computed() -> None:
    findings = compare([expected()], [], skip=SKIP)

    assert [f.status for f in findings] == ["missing"]
    assert findings[0].expected is not None and findings[0].expected["check_in"] == "2026-10-05T09:02:00+05:30"


def test_a_day_with_nothing_to_hold_matches_a_target_that_holds_nothing() -> None:
    findings = compare([expected(check_in="", check_out=None)], [], skip=SKIP)

    assert [(f.status, f.note) for f in findings] == [("matched", "nothing to hold")]


def test_a_day_with_nothing_to_hold_that_the_target_holds_is_different() -> None:
    findings = compare([expected(check_in="", check_out="")], [held()], skip=SKIP)

    assert [(f.status, f.differing) for f in findings] == [("different", ("check_in", "check_out"))]


def test_different_values_name_only_the_fields_that_differ_with_both_sides() -> None:
    findings = compare([expected(cost="CC-OPS")], [held(check_in="2026-10-05T09:40:00+05:30", cost="CC-X")], skip=SKIP)

    (finding,) = findings
    assert finding.status == "different"
    assert finding.differing == ("check_in", "cost")
    assert finding.expected == {"check_in": "2026-10-05T09:02:00+05:30", "cost": "CC-OPS"}
    assert finding.held == {"check_in": "2026-10-05T09:40:00+05:30", "cost": "CC-X"}


def test_columns_the_target_does_not_show_back_and_skipped_columns_are_not_compared() -> None:
    record = expected(minutes=480, recomputed=False)
    findings = compare([record], [held(recomputed=True, extra_field="anything")], skip=SKIP | {"recomputed"})

    assert [f.status for f in findings] == ["matched"]


def test_a_record_for_a_day_punchbridge_has_none_for_is_extra() -> None:
    findings = compare([expected()], [held(), held(day=date(2026, 10, 20), remote_id="r9")], skip=SKIP)

    assert [(f.status, f.work_date.day, f.remote_id, f.record_key) for f in findings] == [
        ("matched", 5, "r1", "E1|2026-10-05|day"),
        ("extra", 20, "r9", None),
    ]


def test_of_two_records_for_one_day_the_one_in_the_ledger_matches_and_the_other_is_a_duplicate() -> None:
    findings = compare(
        [expected()], [held(remote_id="manual", check_in=""), held(remote_id="ours")], skip=SKIP,
        remote_ids={"E1|2026-10-05|day": "ours"},
    )  # fmt: skip

    statuses = {f.remote_id: (f.status, f.note) for f in findings}
    assert statuses["ours"] == ("matched", "")
    assert statuses["manual"][0] == "extra" and "duplicate" in statuses["manual"][1]


def test_two_punchbridge_records_for_one_target_key_are_reported_not_merged() -> None:
    one = ExpectedRecord("E1|2026-10-05|day", "E1", "T-1", DAY, {"employee": "T-1", "check_in": "x"})
    two = ExpectedRecord("E9|2026-10-05|day", "E9", "T-1", DAY, {"employee": "T-1", "check_in": "x"})

    findings = compare([one, two], [HeldRecord("T-1", DAY, {"check_in": "x"})], skip=SKIP)

    by_employee = {f.employee_id: f for f in findings}
    assert (by_employee["E1"].status, by_employee["E9"].status) == ("matched", "missing")
    assert "same target employee and day" in by_employee["E9"].note


def test_employee_ids_are_compared_without_surrounding_spaces() -> None:
    findings = compare([expected()], [held(employee=" E1 ")], skip=SKIP)

    assert [f.status for f in findings] == ["matched"]


def test_findings_are_ordered_by_day_then_employee() -> None:
    findings = compare(
        [expected("E2", date(2026, 10, 6)), expected("E1", date(2026, 10, 6)), expected("E3", date(2026, 10, 5))],
        [],
        skip=SKIP,
    )

    assert [(f.work_date.day, f.employee_id) for f in findings] == [(5, "E3"), (6, "E1"), (6, "E2")]


def test_daily_counts_list_every_day_of_the_period() -> None:
    findings = compare([expected(), expected("E2")], [held()], skip=SKIP)

    days = daily_counts(findings, date(2026, 10, 4), date(2026, 10, 6))

    assert [(d.day, dict(c)) for d, c in days] == [(4, {}), (5, {"matched": 1, "missing": 1}), (6, {})]


def test_a_day_is_locked_by_its_site_or_by_a_lock_of_every_site() -> None:
    locks = {("pune", "2026-10"), ("*", "2026-09")}

    assert is_locked("pune", date(2026, 10, 31), locks)
    assert not is_locked("blr", date(2026, 10, 31), locks)
    assert not is_locked("pune", date(2026, 11, 1), locks)
    assert is_locked("blr", date(2026, 9, 1), locks)
    assert is_locked(None, date(2026, 9, 30), locks)
    assert not is_locked(None, date(2026, 10, 5), locks)


def test_odd_values_a_target_sends_back_are_compared_without_failing() -> None:
    odd = held(check_in=["2026-10-05T09:02:00+05:30"], check_out={"at": "18:10"}, note=b"\xff", big="9" * 5000)
    record = expected(note="x", big="9" * 5000)

    (finding,) = compare([record], [odd], skip=SKIP)

    assert finding.status == "different"
    assert finding.differing == ("check_in", "check_out", "note")
