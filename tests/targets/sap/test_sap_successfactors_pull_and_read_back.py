"""Employees from EmpJob (leavers and cost-centre history included) and what SuccessFactors holds, read back."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime

from support.sap_builders import INTERVALS, batch_of, day_record, intervals_record

from punchbridge.plugin_api import Employee, Record
from punchbridge.plugins.sap.successfactors import SuccessFactorsTarget
from punchbridge.testing.emulators.sap import ManualClock, SapEmulator

DAY = "2025-10-06"


def test_the_pull_pages_to_the_end_and_keeps_leavers(
    make_target: Callable[..., SuccessFactorsTarget], emulator: SapEmulator
) -> None:
    staff = [Employee(f"U{n:03d}", f"First{n} Last", email=f"u{n}@example.com", active=n % 5 != 0) for n in range(95)]
    emulator.seed_employees(staff, replace=True)
    pulled = list(make_target(page_size=20).pull_employees())
    assert [e.target_id for e in pulled] == [e.target_id for e in staff]
    assert emulator.calls["EmpJob"] == 5
    assert [e.active for e in pulled] == [e.active for e in staff]
    assert (pulled[3].name, pulled[3].email) == ("First3 Last", "u3@example.com")


def test_each_employee_carries_the_cost_centre_history(
    target: SuccessFactorsTarget, emulator: SapEmulator, clock: ManualClock
) -> None:
    emulator.add_job("T-1", date(2025, 10, 16), costCenter="CC-LOG")
    asha = next(e for e in target.pull_employees() if e.target_id == "T-1")
    assert asha.extra["cost_centres"] == [
        {"cost_centre": "CC-OPS", "from": "2020-01-01", "to": "2025-10-15"},
        {"cost_centre": "CC-LOG", "from": "2025-10-16", "to": "9999-12-31"},
    ]
    today = datetime.fromtimestamp(clock(), UTC).date()
    assert asha.extra["cost_centre"] == ("CC-LOG" if today >= date(2025, 10, 16) else "CC-OPS")
    assert (asha.department, asha.extra["timezone"], asha.extra["emplStatus"]) == ("Ops", "Asia/Kolkata", "A")


def test_a_pull_since_brings_only_later_changes(target: SuccessFactorsTarget, emulator: SapEmulator) -> None:
    early, late = datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 6, 1, tzinfo=UTC)
    emulator.seed_employees(
        [Employee("A", "Old One", modified_at=early), Employee("B", "New One", modified_at=late)], replace=True
    )
    assert [e.target_id for e in target.pull_employees(since=datetime(2025, 3, 1))] == ["B"]
    assert next(iter(target.pull_employees(since=datetime(2025, 3, 1)))).modified_at == late


def test_the_badge_comes_from_the_configured_user_field(
    make_target: Callable[..., SuccessFactorsTarget], emulator: SapEmulator
) -> None:
    emulator.seed_employees([Employee("B-1", "Badge Holder", badge="0042")], replace=True)
    (employee,) = make_target(badge_field="custom01").pull_employees()
    assert employee.badge == "0042"


def test_read_back_gives_each_day_in_the_mappings_terms_and_its_sites_zone(target: SuccessFactorsTarget) -> None:
    target.push(batch_of([day_record("T-1", DAY, "09:02", "18:15", hours=8.75), day_record("T-2", "2025-10-07")]))
    held = list(target.read_back(date(2025, 10, 6), date(2025, 10, 6), zones={"T-1": "Asia/Kolkata"}))
    assert [(h.employee, h.work_date, h.remote_id) for h in held] == [("T-1", date(2025, 10, 6), "PB-T-1-20251006-day")]
    assert held[0].fields == {
        "check_in": "2025-10-06T09:02:00+05:30",
        "check_out": "2025-10-06T18:15:00+05:30",
        "hours": 8.75,
        "time_type": "ATTENDANCE",
        "cost_centre": None,
    }
    assert [h.employee for h in target.read_back(date(2025, 10, 1), date(2025, 10, 31), ["T-2"])] == ["T-2"]


def test_read_back_without_a_known_zone_gives_the_wall_clock(target: SuccessFactorsTarget) -> None:
    target.push(batch_of([day_record("T-1", DAY, "09:02", "18:15")]))
    (held,) = target.read_back(date(2025, 10, 6), date(2025, 10, 6))
    assert (held.fields["check_in"], held.fields["check_out"]) == ("2025-10-06T09:02:00", "2025-10-06T18:15:00")


def test_read_back_takes_successfactors_own_spellings(target: SuccessFactorsTarget, emulator: SapEmulator) -> None:
    # Edm.Time unpadded, as other SuccessFactors clients write it (a published terminal uploader), and an Edm.Decimal
    # as text or as a number.
    row = {"externalCode": "X-1", "userId": "T-1", "startDate": "/Date(1759708800000)/",
           "startTime": "PT8H5M0S", "endTime": "PT17H", "hours": 8.92, "timeType": "ATTENDANCE"}  # fmt: skip
    emulator.fail_next("ExternalTimeData", status=200, body=json.dumps({"d": {"results": [row]}}),
                       content_type="application/json")  # fmt: skip
    (held,) = target.read_back(date(2025, 10, 6), date(2025, 10, 6), zones={"T-1": "Europe/Berlin"})
    assert held.fields["check_in"] == "2025-10-06T08:05:00+02:00"
    assert (held.fields["check_out"], held.fields["hours"]) == ("2025-10-06T17:00:00+02:00", 8.92)


def test_read_back_of_clock_events_gives_the_days_intervals_and_uuids(
    make_target: Callable[..., SuccessFactorsTarget], emulator: SapEmulator
) -> None:
    target = make_target(send="time_events")
    target.push(batch_of([intervals_record("T-1", DAY, "09:00/13:00;13:30/")], INTERVALS))
    (held,) = target.read_back(date(2025, 10, 6), date(2025, 10, 6), zones={"T-1": "Asia/Kolkata"})
    assert (held.employee, held.work_date) == ("T-1", date(2025, 10, 6))
    assert held.fields == {
        "intervals": "2025-10-06T09:00:00+05:30/2025-10-06T13:00:00+05:30;2025-10-06T13:30:00+05:30/",
        "check_in": "2025-10-06T09:00:00+05:30",
        "check_out": "",
    }
    assert sorted((held.remote_id or "").split(",")) == sorted(emulator.events())


def test_a_night_shifts_events_stay_on_its_work_date_in_each_users_zone(
    make_target: Callable[..., SuccessFactorsTarget], emulator: SapEmulator
) -> None:
    emulator.seed_employees([Employee("B-1", "Berlin Night")])
    target = make_target(send="time_events")
    over_dst = "2025-03-29T22:00:00+01:00/2025-03-30T06:00:00+02:00"  # Berlin's clocks go forward at 02:00
    night = Record("C-B-1|2025-03-29|day", {"employee": "B-1", "intervals": over_dst}, "h", timezone="Europe/Berlin")
    day = intervals_record("T-1", "2025-03-29", "09:00/18:00", timezone="Asia/Kolkata")
    assert all(o.ok for o in target.push(batch_of([night, day], INTERVALS)))
    zones = {"B-1": "Europe/Berlin", "T-1": "Asia/Kolkata"}
    held = {
        (h.employee, h.work_date): h.fields for h in target.read_back(date(2025, 3, 29), date(2025, 3, 30), zones=zones)
    }
    assert set(held) == {("B-1", date(2025, 3, 29)), ("T-1", date(2025, 3, 29))}
    assert held["B-1", date(2025, 3, 29)]["intervals"] == "2025-03-29T22:00:00+01:00/2025-03-30T06:00:00+02:00"
    assert held["T-1", date(2025, 3, 29)]["check_out"] == "2025-03-29T18:00:00+05:30"
