"""Employees pulled from Zoho People, and what Zoho holds read back for reconciliation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from support.zoho_builders import FIRST_LAST, batch_of, day_record, intervals_record

from punchbridge.plugin_api import Employee
from punchbridge.plugins.zoho_people import ZohoPeopleTarget
from punchbridge.testing.emulators.zoho import ManualClock, ZohoEmulator

DAY = "2025-10-06"


def test_every_employee_comes_back_once_with_leavers_flagged(target: ZohoPeopleTarget, emulator: ZohoEmulator) -> None:
    emulator.seed_employees(
        [Employee(f"T-{n:03d}", f"Person {n}", active=n % 5 != 0, email=f"p{n}@example.com") for n in range(5, 405)]
    )
    pulled = list(target.pull_employees())
    assert len(pulled) == 404 and len({e.target_id for e in pulled}) == 404
    assert emulator.calls["getRecords"] == 3  # 200 + 200 + 4
    leavers = {e.target_id for e in pulled if not e.active}
    assert leavers == {"T-4"} | {f"T-{n:03d}" for n in range(5, 405) if n % 5 == 0}


def test_a_pulled_employee_carries_zohos_fields(target: ZohoPeopleTarget) -> None:
    asha = next(e for e in target.pull_employees() if e.target_id == "T-1")
    assert (asha.name, asha.email, asha.badge, asha.department, asha.active) == (
        "Asha Rao",
        "asha@example.com",
        "101",
        "Ops",
        True,
    )
    assert asha.extra["zoho_record_id"].isdigit()
    assert asha.modified_at is not None and asha.modified_at.tzinfo is not None


def test_an_exact_page_multiple_ends_at_zohos_no_records_reply(
    target: ZohoPeopleTarget, emulator: ZohoEmulator
) -> None:
    emulator.seed_employees([Employee(f"T-{n:03d}", f"Person {n}") for n in range(5, 201)])  # 200 in all
    assert len(list(target.pull_employees())) == 200
    assert emulator.calls["getRecords"] == 2


def test_a_pull_since_brings_only_later_changes(
    target: ZohoPeopleTarget, emulator: ZohoEmulator, clock: ManualClock
) -> None:
    later = datetime.fromtimestamp(clock(), UTC) + timedelta(days=3)
    emulator.seed_employees([Employee("T-2", "Ben Okafor", active=False, modified_at=later)])
    changed = list(target.pull_employees(since=later - timedelta(hours=1)))
    assert [(e.target_id, e.active) for e in changed] == [("T-2", False)]
    naive = list(target.pull_employees(since=(later - timedelta(hours=1)).replace(tzinfo=None)))
    assert [e.target_id for e in naive] == ["T-2"]


def test_the_badge_field_is_a_setting(make_target: Callable[..., ZohoPeopleTarget]) -> None:
    pulled = list(make_target(badge_field="Department").pull_employees())
    assert {e.badge for e in pulled} == {"Ops", "Stores"}


def test_read_back_gives_the_mapping_columns_in_the_same_local_form(
    make_target: Callable[..., ZohoPeopleTarget],
) -> None:
    target = make_target(timezone="Asia/Kolkata")
    record = day_record("T-1", DAY, "09:02", "18:12")
    target.push(batch_of([record]))
    (held,) = target.read_back(date(2025, 10, 5), date(2025, 10, 7), ["T-1"])
    assert (held.employee, held.work_date) == ("T-1", date(2025, 10, 6))
    assert held.fields["check_in"] == record.fields["check_in"] == "2025-10-06T09:02:00+05:30"
    assert held.fields["check_out"] == record.fields["check_out"]
    assert held.fields["intervals"] == "2025-10-06T09:02:00+05:30/2025-10-06T18:12:00+05:30"


def test_read_back_of_every_pair_matches_the_intervals_column(make_target: Callable[..., ZohoPeopleTarget]) -> None:
    target = make_target(timezone="Asia/Kolkata")
    record = intervals_record("T-1", DAY, "09:00/13:00;14:00/")
    target.push(batch_of([record], ("employee", "intervals")))
    (held,) = target.read_back(date(2025, 10, 6), date(2025, 10, 6), ["T-1"])
    assert held.fields["intervals"] == record.fields["intervals"]


def test_read_back_without_employees_asks_zoho_for_them(target: ZohoPeopleTarget, emulator: ZohoEmulator) -> None:
    target.push(batch_of([day_record("T-1", DAY), day_record("T-3", DAY)], FIRST_LAST))
    held = list(target.read_back(date(2025, 10, 6), date(2025, 10, 6)))
    assert [(h.employee, h.fields["check_in"]) for h in held] == [
        ("T-1", "2025-10-06T09:00:00"),
        ("T-3", "2025-10-06T09:00:00"),
    ]
    assert emulator.calls["getAttendanceEntries"] == 4  # one per employee and day


def test_read_back_by_email_uses_the_email_as_the_employee(make_target: Callable[..., ZohoPeopleTarget]) -> None:
    target = make_target(identify_by="emailId")
    target.push(batch_of([day_record("chen@example.com", DAY)]))
    held = list(target.read_back(date(2025, 10, 6), date(2025, 10, 6)))
    assert [h.employee for h in held] == ["chen@example.com"]


def test_a_long_read_back_is_paced_under_zohos_limit(
    target: ZohoPeopleTarget, emulator: ZohoEmulator, clock: ManualClock
) -> None:
    started = clock()
    list(target.read_back(date(2025, 10, 1), date(2025, 10, 31), ["T-1", "T-2", "T-3", "T-4"]))
    assert emulator.calls["getAttendanceEntries"] == 124
    assert emulator.locks == 0
    assert clock() - started >= 60
