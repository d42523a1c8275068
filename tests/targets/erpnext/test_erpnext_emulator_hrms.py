"""The ERPNext emulator behaves as Frappe HR does where a correction or a setting changes what happens.

Each test names the upstream code it follows (frappe/hrms, develop and version-15-hotfix of October
2024; develop after frappe/hrms#2900 for the check-in's coordinates; frappe/frappe for the framework).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from support.erpnext_builders import ADD_LOG, STAFF, add_log, listing, messages

from punchbridge.testing.emulators.erpnext import GET_ROLES, SINGLE_VALUE, ErpNextEmulator
from punchbridge.testing.http import serve

DAY = date(2025, 10, 6)
INSERT = "/api/resource/Employee Checkin"


@contextmanager
def _site(emulator: ErpNextEmulator) -> Iterator[httpx.Client]:
    """`emulator` served, and a client holding its key."""
    token = f"token {emulator.api_key}:{emulator.api_secret}"
    with serve(emulator.app) as server, httpx.Client(base_url=server.url, headers={"Authorization": token}) as site:
        yield site


def _of(emulator: ErpNextEmulator, time: str) -> dict[str, Any]:
    return next(c for c in emulator.checkins() if c["time"] == time)


# -- Attendance and the auto-attendance job (shift_type.py, employee_checkin.py, attendance.py) ---------


def test_the_attendance_job_marks_the_day_and_links_its_check_ins(
    site: httpx.Client, emulator: ErpNextEmulator
) -> None:
    add_log(site, "T-1", "2025-10-06 09:02:00", "IN")
    add_log(site, "T-1", "2025-10-06 18:12:00", "OUT")
    assert emulator.run_attendance_job() == 1
    (marked,) = emulator.attendance()
    assert (marked["status"], marked["docstatus"], marked["attendance_date"]) == ("Present", 1, "2025-10-06")
    assert (marked["in_time"], marked["out_time"], marked["working_hours"]) == (
        "2025-10-06 09:02:00", "2025-10-06 18:12:00", 9.17,
    )  # fmt: skip
    assert {c["attendance"] for c in emulator.checkins()} == {marked["name"]}
    assert emulator.run_attendance_job() == 0, "linked check-ins are never taken again"


def test_a_check_in_after_the_days_attendance_is_stored_and_then_skipped_by_the_job(
    site: httpx.Client, emulator: ErpNextEmulator
) -> None:
    # mark_attendance_and_link_log: "If attendance is already present for the given date, the logs
    # are marked as skipped and no exception is thrown."
    add_log(site, "T-1", "2025-10-06 09:02:00", "IN")
    add_log(site, "T-1", "2025-10-06 18:12:00", "OUT")
    emulator.run_attendance_job()
    late = add_log(site, "T-1", "2025-10-06 07:30:00", "IN")
    assert late.status_code == 200, "Frappe HR takes the check-in without a word"
    assert emulator.run_attendance_job() == 0
    skipped = _of(emulator, "2025-10-06 07:30:00")
    assert skipped["skip_auto_attendance"] == 1 and skipped["attendance"] is None
    (comment,) = emulator.comments()
    assert comment["reference_name"] == skipped["name"]
    assert "Reason for skipping auto attendance:" in comment["content"]
    assert "is already marked for the date" in comment["content"]
    (marked,) = emulator.attendance()
    assert marked["in_time"] == "2025-10-06 09:02:00", "the Attendance payroll reads did not change"


def test_an_attendance_marked_by_hand_also_makes_the_job_skip_the_days_check_ins(
    site: httpx.Client, emulator: ErpNextEmulator
) -> None:
    name = emulator.mark_attendance("T-2", DAY, "Absent")
    add_log(site, "T-2", "2025-10-06 09:30:00", "IN")
    emulator.run_attendance_job()
    assert _of(emulator, "2025-10-06 09:30:00")["skip_auto_attendance"] == 1
    assert [a["name"] for a in emulator.attendance()] == [name]


def test_cancelling_the_attendance_unlinks_its_check_ins_but_leaves_skipped_ones_skipped(
    site: httpx.Client, emulator: ErpNextEmulator
) -> None:
    # Attendance.on_cancel -> unlink_attendance_from_checkins clears `attendance`; nothing resets
    # skip_auto_attendance, so a person must untick it for the job to take those check-ins again.
    add_log(site, "T-1", "2025-10-06 09:02:00", "IN")
    emulator.run_attendance_job()
    add_log(site, "T-1", "2025-10-06 07:30:00", "IN")
    emulator.run_attendance_job()
    (marked,) = emulator.attendance()
    unlinked = emulator.cancel_attendance(marked["name"])
    assert unlinked == [_of(emulator, "2025-10-06 09:02:00")["name"]]
    assert emulator.attendance()[0]["docstatus"] == 2
    assert _of(emulator, "2025-10-06 07:30:00")["skip_auto_attendance"] == 1
    assert emulator.run_attendance_job() == 1, "the unlinked check-in is marked again once the day is free"


def test_attendance_and_the_check_ins_links_can_be_listed(site: httpx.Client, emulator: ErpNextEmulator) -> None:
    add_log(site, "T-1", "2025-10-06 09:02:00", "IN")
    emulator.run_attendance_job()
    name = emulator.employee_name("T-1")
    rows = listing(site, "Attendance", fields=["name", "employee", "attendance_date", "status", "docstatus"],
                   filters=[["employee", "in", [name]], ["attendance_date", ">=", "2025-10-06"],
                            ["attendance_date", "<=", "2025-10-06"], ["docstatus", "<", 2]])  # fmt: skip
    (row,) = rows.json()["data"]
    assert (row["employee"], row["status"], row["docstatus"]) == (name, "Present", 1)
    checkins = listing(site, "Employee Checkin", fields=["attendance", "skip_auto_attendance"])
    assert checkins.json()["data"] == [{"attendance": row["name"], "skip_auto_attendance": 0}]
    emulator.deny("attendance")
    assert listing(site, "Attendance").status_code == 403


# -- Geolocation (HR Settings allow_geolocation_tracking; validate_distance_from_shift_location) --------


def test_with_geolocation_tracking_a_check_in_without_coordinates_is_refused(
    site: httpx.Client, emulator: ErpNextEmulator
) -> None:
    emulator.track_geolocation()
    refused = add_log(site, "T-1", "2025-10-06 09:02:00")
    assert refused.status_code == 417
    assert messages(refused) == ["Latitude and longitude values are required for checking in."]
    assert emulator.checkins() == []


def test_frappe_hr_15s_add_log_drops_coordinates_and_the_generic_insert_keeps_them(
    site: httpx.Client, emulator: ErpNextEmulator
) -> None:
    # version-15-hotfix's add_log has no latitude/longitude; frappe.call drops unknown arguments.
    emulator.track_geolocation()
    dropped = add_log(site, "T-1", "2025-10-06 09:02:00", latitude="12.9716", longitude="77.5946")
    assert dropped.status_code == 417
    assert "Latitude and longitude values are required" in messages(dropped)[0]
    doc = {"employee": emulator.employee_name("T-1"), "time": "2025-10-06 09:02:00", "log_type": "IN",
           "device_id": "GATE", "latitude": 12.9716, "longitude": 77.5946}  # fmt: skip
    inserted = site.post(INSERT, json=doc)
    assert inserted.status_code == 200, inserted.text
    assert (inserted.json()["data"]["latitude"], inserted.json()["data"]["longitude"]) == (12.9716, 77.5946)
    unknown = site.post(INSERT, json={**doc, "employee": "HR-EMP-99999"})
    assert unknown.status_code == 417 and messages(unknown) == ["Could not find Employee: HR-EMP-99999"]


def test_the_later_add_log_takes_the_coordinates() -> None:
    # frappe/hrms#2900 (develop, March 2025): add_log_based_on_employee_field(..., latitude, longitude).
    emulator = ErpNextEmulator(version=16)
    emulator.seed_employees(STAFF)
    emulator.track_geolocation()
    with _site(emulator) as site:
        reply = add_log(site, "T-1", "2025-10-06 09:02:00", latitude="52.52", longitude="13.405")
    assert reply.status_code == 200
    assert (reply.json()["message"]["latitude"], reply.json()["message"]["longitude"]) == (52.52, 13.405)


def test_hr_settings_tell_whether_geolocation_is_tracked_to_users_who_may_read_them(
    site: httpx.Client, emulator: ErpNextEmulator
) -> None:
    def setting() -> httpx.Response:
        return site.get(f"/api/method/{SINGLE_VALUE}",
                        params={"doctype": "HR Settings", "field": "allow_geolocation_tracking"})  # fmt: skip

    assert setting().json() == {"message": 0}
    emulator.track_geolocation()
    assert setting().json() == {"message": 1}
    emulator.deny("settings")
    denied = setting()
    assert denied.status_code == 403 and messages(denied) == ["No permission for HR Settings"]
    with pytest.raises(ValueError, match="from Frappe HR 15 on"):
        ErpNextEmulator(version=14).track_geolocation()


# -- The permlevel-1 `time` field (employee_checkin.json; BaseDocument.reset_values_if_no_permlevel_access) --


def test_an_api_user_with_only_the_employee_role_gets_now_instead_of_the_punch_time() -> None:
    now = datetime(2025, 10, 9, 4, 30, tzinfo=UTC).timestamp()  # 10:00 in Asia/Kolkata
    emulator = ErpNextEmulator(clock=lambda: now)
    emulator.seed_employees(STAFF)
    emulator.set_roles("Employee")
    with _site(emulator) as site:
        reply = add_log(site, "T-1", "2025-10-06 09:02:00")
        roles = site.get(f"/api/method/{GET_ROLES}", params={"uid": emulator.user}).json()
    assert reply.status_code == 200, "Frappe says nothing"
    assert reply.json()["message"]["time"] == "2025-10-09 10:00:00"
    assert roles == {"message": ["Employee"]}


def test_an_hr_user_sets_the_time_and_can_read_its_roles(site: httpx.Client, emulator: ErpNextEmulator) -> None:
    assert add_log(site, "T-1", "2025-10-06 09:02:00").json()["message"]["time"] == "2025-10-06 09:02:00"
    roles = site.get(f"/api/method/{GET_ROLES}", params={"uid": emulator.user}).json()["message"]
    assert "HR User" in roles


def test_validation_errors_of_both_ways_in_are_http_417(site: httpx.Client, emulator: ErpNextEmulator) -> None:
    doc = {"employee": emulator.employee_name("T-4"), "time": "2025-10-06 09:02:00", "log_type": "IN"}
    for reply in (site.post(INSERT, json=doc), site.post(ADD_LOG, data={"employee_field_value": "T-4",
                                                                        "timestamp": doc["time"]})):  # fmt: skip
        assert reply.status_code == 417
        assert json.loads(reply.json()["_server_messages"])
        assert "Transactions cannot be created for an Inactive Employee" in messages(reply)[0]
