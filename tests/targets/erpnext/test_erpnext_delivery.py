"""The `erpnext` target against Frappe HR's rules: one system zone, days already marked, check-ins that
cannot be taken back, geolocation, the check-in time a user may not set."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError
from support.erpnext_builders import INTERVALS, STAFF, batch_of, day_record, intervals_record

from punchbridge.plugin_api import FatalTargetError, Record, ZoneModel
from punchbridge.plugins.erpnext import ErpNextSettings, ErpNextTarget
from punchbridge.testing.emulators.erpnext import ErpNextEmulator
from punchbridge.testing.http import serve

DAY = "2025-10-06"
MONDAY = date(2025, 10, 6)
COLUMNS = ("employee", "check_in", "check_out")


def berlin(employee: str, day: str, check_in: str, check_out: str, offset: str) -> Record:
    """A day of a Berlin employee: local times with Berlin's offset, the site zone set as the engine does."""
    fields = {"employee": employee, "check_in": f"{check_in}{offset}", "check_out": f"{check_out}{offset}"}
    return Record(f"{employee.replace('T-', 'E')}|{day}|day", fields, f"h-{check_in}-{check_out}", "Europe/Berlin")


def _times(emulator: ErpNextEmulator, value: str) -> list[tuple[str, str]]:
    name = emulator.employee_name(value)
    return sorted((c["log_type"], c["time"]) for c in emulator.checkins() if c["employee"] == name)


# -- one system zone -------------------------------------------------------------------------------------------


def test_every_sites_punches_are_written_in_erpnexts_system_zone_across_berlins_clock_change(
    target: ErpNextTarget, emulator: ErpNextEmulator
) -> None:
    assert ErpNextTarget.zone_model is ZoneModel.ORGANISATION
    before = berlin("T-2", "2025-03-28", "2025-03-28T09:00:00", "2025-03-28T17:00:00", "+01:00")
    after = berlin("T-2", "2025-03-31", "2025-03-31T09:00:00", "2025-03-31T17:00:00", "+02:00")
    assert all(o.ok for o in target.push(batch_of([before, after, day_record("T-1", "2025-03-31")])))
    assert _times(emulator, "T-2") == [
        ("IN", "2025-03-28 13:30:00"), ("IN", "2025-03-31 12:30:00"),
        ("OUT", "2025-03-28 21:30:00"), ("OUT", "2025-03-31 20:30:00"),
    ]  # fmt: skip
    assert _times(emulator, "T-1") == [("IN", "2025-03-31 09:02:00"), ("OUT", "2025-03-31 18:12:00")]
    assert all(o.ok for o in target.push(batch_of([before, after], batch_id=2)))
    assert emulator.calls["add_log"] == 6, "a rerun sends nothing"


def test_read_back_puts_each_check_in_on_its_employees_own_work_date(
    target: ErpNextTarget, emulator: ErpNextEmulator
) -> None:
    night = berlin("T-2", DAY, f"{DAY}T22:00:00", "2025-10-07T06:00:00", "+02:00")  # 01:30 to 09:30 in Kolkata
    target.push(batch_of([night, day_record("T-1", DAY)]))
    zones = {"T-2": "Europe/Berlin", "T-1": "Asia/Kolkata"}
    held = {(h.employee, h.work_date): h for h in target.read_back(MONDAY, date(2025, 10, 7), zones=zones)}
    assert set(held) == {("T-1", MONDAY), ("T-2", MONDAY)}
    assert held[("T-2", MONDAY)].fields == {k: v for k, v in night.fields.items() if k != "employee"} | {
        "intervals": f"{DAY}T22:00:00+02:00/2025-10-07T06:00:00+02:00"
    }
    assert held[("T-1", MONDAY)].fields["check_in"] == "2025-10-06T09:02:00+05:30"
    in_system_zone = {(h.employee, h.work_date) for h in target.read_back(MONDAY, date(2025, 10, 7))}
    assert ("T-2", date(2025, 10, 7)) in in_system_zone, "without the site's zone the night falls on Kolkata's date"


# -- a day whose Attendance is marked -------------------------------------------------------------------------


def test_a_correction_for_a_day_erpnext_has_marked_is_a_dead_letter_saying_how_to_free_the_day(
    target: ErpNextTarget, emulator: ErpNextEmulator
) -> None:
    target.push(batch_of([day_record("T-1", DAY)]))
    emulator.run_attendance_job()
    (marked,) = emulator.attendance()
    sent = emulator.calls["add_log"]
    (outcome,) = target.push(batch_of([day_record("T-1", DAY, check_in="07:30")], batch_id=2))
    assert not outcome.ok
    message = str(outcome.message)
    assert f"ERPNext already has Attendance {marked['name']} (Present)" in message
    assert "mark_attendance_and_link_log" in message and f"cancel Attendance {marked['name']}" in message
    assert "untick Skip Auto Attendance" in message
    assert emulator.calls["add_log"] == sent, "nothing was sent into the marked day"
    assert all(o.ok for o in target.push(batch_of([day_record("T-1", DAY)], batch_id=3))), "the unchanged day is fine"
    emulator.cancel_attendance(marked["name"])
    (retried,) = target.push(batch_of([day_record("T-1", DAY, check_in="07:30")], batch_id=4))
    assert retried.ok
    emulator.run_attendance_job()
    assert [a["in_time"] for a in emulator.attendance() if a["docstatus"] == 1] == ["2025-10-06 07:30:00"]


def test_a_first_delivery_into_a_day_already_marked_absent_is_held_back_too(
    target: ErpNextTarget, emulator: ErpNextEmulator
) -> None:
    emulator.mark_attendance("T-2", MONDAY, "Absent")  # the job marks absentees a day after the shift
    outcomes = target.push(batch_of([day_record("T-1", DAY), day_record("T-2", DAY)]))
    assert [o.ok for o in outcomes] == [True, False]
    assert "(Absent)" in str(outcomes[1].message)
    assert _times(emulator, "T-2") == []


def test_with_skip_auto_attendance_the_attendance_is_not_consulted(
    make_target: Callable[..., ErpNextTarget], emulator: ErpNextEmulator
) -> None:
    emulator.mark_attendance("T-2", MONDAY)
    (outcome,) = make_target(skip_auto_attendance=True).push(batch_of([day_record("T-2", DAY)]))
    assert outcome.ok and emulator.calls["attendance"] == 0
    assert {c["skip_auto_attendance"] for c in emulator.checkins()} == {1}


# -- check-ins that cannot be taken back -----------------------------------------------------------------------


def test_a_later_first_check_in_is_a_dead_letter_naming_the_check_in_to_delete(
    target: ErpNextTarget, emulator: ErpNextEmulator
) -> None:
    target.push(batch_of([day_record("T-1", DAY, check_in="07:30")]))
    (outcome,) = target.push(batch_of([day_record("T-1", DAY, check_in="09:05")], batch_id=2))
    assert not outcome.ok
    assert "ERPNext holds check-in IN 2025-10-06 07:30:00 (EMP-CKIN-10-2025-" in str(outcome.message)
    assert "cannot remove a check-in: nothing of the day was sent" in str(outcome.message)
    assert _times(emulator, "T-1") == [("IN", "2025-10-06 07:30:00"), ("OUT", "2025-10-06 18:12:00")]


def test_an_earlier_last_check_out_is_held_back_even_with_nothing_to_send(
    target: ErpNextTarget, emulator: ErpNextEmulator
) -> None:
    text = f"{DAY}T09:00:00+05:30/{DAY}T13:00:00+05:30;{DAY}T14:00:00+05:30/{DAY}T18:00:00+05:30"
    target.push(batch_of([intervals_record("T-1", DAY, text)], columns=INTERVALS))
    shorter = f"{DAY}T09:00:00+05:30/{DAY}T13:00:00+05:30"
    (outcome,) = target.push(batch_of([intervals_record("T-1", DAY, shorter)], batch_id=2, columns=INTERVALS))
    assert not outcome.ok and "IN 2025-10-06 14:00:00" in str(outcome.message)


def test_an_extra_check_in_frappe_hr_ignores_is_no_difference(target: ErpNextTarget) -> None:
    # calculate_working_hours ("Every Valid Check-in and Check-out", by log type): a second IN while one
    # is open is skipped, so 07:30 IN, 09:02 IN, 18:12 OUT reads as 07:30-18:12.
    target.push(batch_of([day_record("T-1", DAY)]))
    earlier = f"{DAY}T07:30:00+05:30/{DAY}T18:12:00+05:30"
    (outcome,) = target.push(batch_of([intervals_record("T-1", DAY, earlier)], batch_id=2, columns=INTERVALS))
    assert outcome.ok
    (held,) = target.read_back(MONDAY, MONDAY)
    assert held.fields["intervals"] == earlier


# -- geolocation ---------------------------------------------------------------------------------------------


def test_a_site_tracking_geolocation_refuses_days_without_coordinates_and_says_what_to_set(
    target: ErpNextTarget, emulator: ErpNextEmulator
) -> None:
    emulator.track_geolocation()
    (outcome,) = target.push(batch_of([day_record("T-1", DAY)]))
    assert not outcome.ok
    assert "Latitude and longitude values are required for checking in." in str(outcome.message)
    assert "give this device id coordinates" in str(outcome.message)


def test_coordinates_go_with_add_log_where_it_takes_them() -> None:
    emulator = ErpNextEmulator(version=16)
    emulator.seed_employees(STAFF)
    emulator.track_geolocation()
    with serve(emulator.app) as server:
        target = ErpNextTarget(
            "erpnext", emulator.plugin_settings(server.url, coordinates={"punchbridge": [12.97, 77.59]})
        )
        try:
            assert target.push(batch_of([day_record("T-1", DAY)]))[0].ok
        finally:
            target.close()
    assert {(c["latitude"], c["longitude"]) for c in emulator.checkins()} == {(12.97, 77.59)}
    assert emulator.calls["add_log"] == 2 and emulator.calls["insert"] == 0


def test_on_frappe_hr_15_check_ins_with_coordinates_are_inserted_directly(
    make_target: Callable[..., ErpNextTarget], emulator: ErpNextEmulator
) -> None:
    emulator.track_geolocation()
    target = make_target(coordinates={"blr": [12.9716, 77.5946], "ber": [52.52, 13.405]}, concurrency=1)
    records = [day_record("T-1", DAY), berlin("T-2", DAY, f"{DAY}T09:00:00", f"{DAY}T17:00:00", "+02:00")]
    records = [Record(r.key, {**r.fields, "device_id": site}, r.content_hash, r.timezone)
               for r, site in zip(records, ("blr", "ber"), strict=True)]  # fmt: skip
    assert all(o.ok for o in target.push(batch_of(records, columns=(*COLUMNS, "device_id"))))
    held = {(c["device_id"], c["latitude"], c["longitude"]) for c in emulator.checkins()}
    assert held == {("blr", 12.9716, 77.5946), ("ber", 52.52, 13.405)}
    assert emulator.calls["add_log"] == 1, "once add_log dropped the coordinates, the rest went straight in"
    assert emulator.calls["insert"] == 4


def test_a_day_from_a_device_without_coordinates_is_refused_before_anything_is_sent(
    make_target: Callable[..., ErpNextTarget], emulator: ErpNextEmulator
) -> None:
    record = day_record("T-1", DAY)
    record = Record(record.key, {**record.fields, "device_id": "gate-9"}, "h")
    (outcome,) = make_target(coordinates={"blr": [12.97, 77.59]}).push(
        batch_of([record], columns=(*COLUMNS, "device_id"))
    )
    assert not outcome.ok and "no coordinates for device id 'gate-9'" in str(outcome.message)
    assert emulator.calls["add_log"] == 0


def test_coordinates_are_checked_and_must_cover_the_device_ids() -> None:
    base = {"url": "https://hr.example.com", "api_key": "k", "api_secret": "s", "timezone": "Asia/Kolkata"}
    for coordinates, words in (
        ({"a": [77.59, 182.0]}, r"is not \[latitude, longitude\]"),
        ({"a": [0, 0]}, "counts as none"),
    ):
        with pytest.raises(ValidationError, match=words):
            ErpNextSettings.model_validate({**base, "coordinates": coordinates})
    settings = ErpNextSettings.model_validate({**base, "coordinates": {"blr": [12.97, 77.59]}})
    (problem,) = ErpNextTarget.check_columns(COLUMNS, settings)
    assert "coordinates has no entry for the device id 'punchbridge'" in problem
    assert ErpNextTarget.check_columns((*COLUMNS, "device_id"), settings) == []


# -- the check-in time a user may not set ------------------------------------------------------------------------


def test_a_check_in_stored_at_the_wrong_time_stops_the_run_naming_the_role(
    target: ErpNextTarget, emulator: ErpNextEmulator
) -> None:
    emulator.set_roles("Employee")
    with pytest.raises(FatalTargetError, match=r"instead of 2025-10-06 (09:02|18:12):00.*needs the role HR User"):
        target.push(batch_of([day_record("T-1", DAY)]))


def _checks(target: ErpNextTarget) -> dict[str, Any]:
    return {check.what: check for check in target.check_online()}


def test_validate_online_reads_everything_the_target_needs_and_writes_nothing(
    target: ErpNextTarget, emulator: ErpNextEmulator
) -> None:
    checks = _checks(target)
    assert list(checks) == [
        "login", "roles: may set a check-in's time", "read Employee", "read Employee Checkin", "read Attendance",
        "geolocation (HR Settings > Allow Geolocation Tracking)",
    ]  # fmt: skip
    assert all(c.ok and not c.warning for c in checks.values()), checks
    assert "HR User" in checks["roles: may set a check-in's time"].message
    assert checks["geolocation (HR Settings > Allow Geolocation Tracking)"].message == "off"
    assert emulator.checkins() == [] and emulator.calls["add_log"] == 0 and emulator.calls["insert"] == 0


def test_validate_online_fails_the_roles_that_would_lose_the_punch_time(
    target: ErpNextTarget, emulator: ErpNextEmulator
) -> None:
    emulator.set_roles("Employee")
    roles = _checks(target)["roles: may set a check-in's time"]
    assert not roles.ok and "none of which may set an Employee Checkin's time" in roles.message


def test_validate_online_says_when_geolocation_needs_coordinates(
    make_target: Callable[..., ErpNextTarget], emulator: ErpNextEmulator
) -> None:
    what = "geolocation (HR Settings > Allow Geolocation Tracking)"
    emulator.track_geolocation()
    missing = _checks(make_target())[what]
    assert not missing.ok and "Set the target's coordinates" in missing.message
    assert _checks(make_target(coordinates={"punchbridge": [12.97, 77.59]}))[what].ok
    emulator.deny("settings")
    unread = _checks(make_target())[what]
    assert unread.ok and unread.warning and "could not read HR Settings" in unread.message


def test_validate_online_names_a_permission_the_api_user_lacks_and_a_refused_login(
    make_target: Callable[..., ErpNextTarget], emulator: ErpNextEmulator
) -> None:
    emulator.deny("attendance")
    attendance = _checks(make_target())["read Attendance"]
    assert not attendance.ok and "Attendance" in attendance.message
    (login,) = make_target(api_secret="wrong0secret0xyz").check_online()
    assert (login.what, login.ok) == ("login", False) and "refused the API key" in login.message
