"""The Odoo emulator does what each Odoo version does: its fields, who made a record, the crons, API keys.

Each test names the upstream behaviour it holds the emulator to (the emulator's modules cite the
files). Calls go over real HTTP with a bare client, as a plugin or a standard client would make them.
"""

from __future__ import annotations

import xmlrpc.client
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from support.odoo_servers import OdooRun, running_odoo
from support.odoo_wire import OdooFailure, Wire

from punchbridge.testing.emulators.odoo import INTEGRATION, KIOSK, OFFICER, SUPERUSER

ASHA, BEN = 1, 2


@pytest.fixture(params=["16.0", "17.0", "18.0", "19.0"])
def any_version(request: pytest.FixtureRequest) -> Iterator[OdooRun]:
    with running_odoo(request.param, "jsonrpc") as run:
        yield run


@pytest.fixture
def odoo18() -> Iterator[OdooRun]:
    with running_odoo("18.0", "jsonrpc") as run:
        yield run


def _wire(run: OdooRun, protocol: str = "jsonrpc", key: str | None = None) -> Wire:
    emulator = run.emulator
    return Wire(run.url, protocol, emulator.database, emulator.login, key or emulator.api_key)


# -- fields per version ------------------------------------------------------------------------------------


def test_fields_get_says_which_modes_each_version_has(any_version: OdooRun) -> None:
    fields = _wire(any_version).call("hr.attendance", "fields_get", attributes=["type", "selection"])
    major = int(any_version.emulator.version[:2])
    assert fields["check_in"] == {"type": "datetime"}
    assert fields["create_uid"]["type"] == "many2one"
    if major == 16:
        assert "in_mode" not in fields and "out_mode" not in fields
        return
    in_modes = [key for key, _ in fields["in_mode"]["selection"]]
    out_modes = [key for key, _ in fields["out_mode"]["selection"]]
    if major == 17:
        assert (in_modes, out_modes) == (["kiosk", "systray", "manual"], ["kiosk", "systray", "manual"])
    else:
        assert in_modes == ["kiosk", "systray", "manual", "technical"]
        assert out_modes == ["kiosk", "systray", "manual", "technical", "auto_check_out"]


def test_a_field_the_version_lacks_is_refused_as_odoo_refuses_it(odoo17: OdooRun) -> None:
    with running_odoo("16.0", "jsonrpc") as odoo16, pytest.raises(OdooFailure, match="Invalid field 'in_mode'"):
        _wire(odoo16).call("hr.attendance", "search_read", fields=["in_mode"])
    with pytest.raises(OdooFailure, match=r"Wrong value for hr\.attendance\.out_mode"):
        _wire(odoo17).call(
            "hr.attendance",
            "create",
            vals_list=[{"employee_id": ASHA, "check_in": "2025-10-06 03:30:00", "out_mode": "auto_check_out"}],
        )


def test_records_know_who_created_and_last_wrote_them_and_default_to_manual(odoo17: OdooRun) -> None:
    wire = _wire(odoo17)
    (new,) = wire.call("hr.attendance", "create", vals_list=[{"employee_id": ASHA, "check_in": "2025-10-06 03:30:00"}])
    odoo17.emulator.change_attendance(new, uid=OFFICER, check_out="2025-10-06 12:00:00")
    (row,) = wire.call("hr.attendance", "read", [new], fields=["create_uid", "write_uid", "in_mode", "out_mode"])
    assert row["create_uid"] == [INTEGRATION, "punchbridge integration"]
    assert row["write_uid"] == [OFFICER, "HR Officer"]
    assert (row["in_mode"], row["out_mode"]) == ("manual", "manual")


def test_search_answers_ids_as_odoo_client_lib_expects(odoo17: OdooRun) -> None:
    wire = _wire(odoo17)
    assert wire.call("hr.employee", "search", domain=[["barcode", "in", ["A1", "A2"]]], order="id") == [ASHA, BEN]


# -- constraint messages ------------------------------------------------------------------------------------


def test_messages_show_times_in_the_callers_zone_and_the_new_check_in_for_an_overlap(odoo17: OdooRun) -> None:
    emulator = odoo17.emulator
    emulator.add_attendance(ASHA, "2025-10-06 03:30:00", "2025-10-06 12:00:00")
    officer = Wire(odoo17.url, "jsonrpc", emulator.database, "hr.officer@example.com", "officer-key")
    with pytest.raises(OdooFailure) as refused:
        officer.call(
            "hr.attendance", "create", uid=OFFICER, vals_list=[{"employee_id": ASHA, "check_in": "2025-10-06 05:00:00"}]
        )
    # `_check_validity`: the NEW record's check-in, shown in the officer's Asia/Kolkata (en_US format).
    assert refused.value.message == (
        "Cannot create new attendance record for Asha Rao, the employee was already checked in on 10/06/2025 10:30:00"
    )


# -- worked hours --------------------------------------------------------------------------------------------


def test_worked_hours_subtract_lunch_in_17_and_18_only(any_version: OdooRun) -> None:
    emulator = any_version.emulator
    emulator.add_attendance(ASHA, "2025-10-06 08:00:00", "2025-10-06 17:00:00")  # Monday, Asha's zone is UTC
    emulator.add_attendance(ASHA, "2025-10-11 08:00:00", "2025-10-11 17:00:00")  # Saturday: no lunch scheduled
    monday, saturday = (a["worked_hours"] for a in emulator.attendances(ASHA))
    lunch = 1.0 if emulator.version[:2] in ("17", "18") else 0.0
    assert (monday, saturday) == (9.0 - lunch, 9.0)


# -- what others do ------------------------------------------------------------------------------------------


def test_the_kiosk_opens_and_closes_attendance_as_the_public_user(odoo17: OdooRun) -> None:
    emulator = odoo17.emulator
    opened = emulator.kiosk_punch(ASHA, datetime(2025, 10, 6, 3, 30, tzinfo=UTC))
    assert emulator.kiosk_punch(ASHA, datetime(2025, 10, 6, 12, 0, tzinfo=UTC)) == opened
    (row,) = emulator.attendances(ASHA)
    assert (row["check_in"], row["check_out"], row["in_mode"], row["out_mode"]) == (
        "2025-10-06 03:30:00",
        "2025-10-06 12:00:00",
        "kiosk",
        "kiosk",
    )
    assert row["create_uid"][0] == KIOSK


def test_an_officer_enters_attendance_by_hand(odoo17: OdooRun) -> None:
    emulator = odoo17.emulator
    emulator.officer_enters(BEN, "2025-10-06 03:30:00", "2025-10-06 12:00:00")
    (row,) = emulator.attendances(BEN)
    assert (row["create_uid"][0], row["in_mode"]) == (OFFICER, "manual")


def test_auto_check_out_closes_an_open_attendance_as_odoobot_from_18(odoo17: OdooRun, odoo18: OdooRun) -> None:
    with pytest.raises(ValueError, match="no auto check-out cron"):
        odoo17.emulator.run_auto_check_out(datetime(2025, 10, 6, 20, 0))
    emulator = odoo18.emulator
    still_within = emulator.add_attendance(BEN, "2025-10-06 12:00:00")
    opened = emulator.add_attendance(ASHA, "2025-10-06 03:00:00")
    assert emulator.run_auto_check_out(datetime(2025, 10, 6, 20, 0), scheduled_hours=8, tolerance=2) == [opened]
    rows = {a["id"]: a for a in emulator.attendances()}
    # 17 h since 03:00 exceed 8 h + 2 h: closed at check-in + 8 h + 2 h + the hour of lunch worked_hours leaves out.
    assert rows[opened]["check_out"] == "2025-10-06 14:00:00"
    assert (rows[opened]["out_mode"], rows[opened]["write_uid"][0]) == ("auto_check_out", SUPERUSER)
    assert rows[opened]["create_uid"][0] == INTEGRATION
    assert rows[still_within]["check_out"] is False  # 8 h since 12:00 do not exceed 10 h


def test_absence_detection_creates_one_second_technical_attendance_from_18(odoo18: OdooRun) -> None:
    emulator = odoo18.emulator
    emulator.employees[BEN]["tz"] = "Asia/Kolkata"
    emulator.add_attendance(ASHA, "2025-10-06 03:30:00", "2025-10-06 12:00:00")
    (created,) = emulator.run_absence_detection(date(2025, 10, 7))
    (row,) = emulator.attendances(BEN)
    # Upstream writes UTC midnight's Kolkata wall time (05:30) as if it were UTC.
    assert (row["id"], row["check_in"], row["check_out"]) == (created, "2025-10-06 05:30:00", "2025-10-06 05:30:01")
    assert (row["in_mode"], row["out_mode"], row["create_uid"][0]) == ("technical", "technical", SUPERUSER)
    with running_odoo("17.0", "jsonrpc") as odoo17, pytest.raises(ValueError, match="no absence detection"):
        odoo17.emulator.run_absence_detection(date(2025, 10, 7))


def test_writing_a_check_out_makes_a_technical_attendance_manual_in_18(odoo18: OdooRun) -> None:
    emulator = odoo18.emulator
    created = emulator.run_absence_detection(date(2025, 10, 7))[0]
    emulator.change_attendance(created, check_out="2025-10-06 12:00:00")
    row = next(a for a in emulator.attendances() if a["id"] == created)
    assert (row["in_mode"], row["out_mode"]) == ("technical", "manual")


# -- API keys --------------------------------------------------------------------------------------------------


def test_an_expired_key_is_refused_like_a_wrong_one_from_18(odoo18: OdooRun, odoo19: OdooRun) -> None:
    for run in (odoo18, odoo19):
        emulator = run.emulator
        emulator.set_api_key_expiry(datetime.now(UTC) - timedelta(minutes=1))
        wire = _wire(run, "xmlrpc")
        assert wire.common("authenticate", emulator.database, emulator.login, emulator.api_key, {}) is False
        with pytest.raises(OdooFailure) as denied:
            wire.call("hr.employee", "search_count")
        assert (denied.value.code, denied.value.message) == (3, "Access Denied")
        emulator.set_api_key_expiry(datetime.now(UTC) + timedelta(days=3))
        assert wire.common("authenticate", emulator.database, emulator.login, emulator.api_key, {}) == INTEGRATION
    odoo19.emulator.set_api_key_expiry(datetime.now(UTC) - timedelta(minutes=1))
    with pytest.raises(OdooFailure) as refused:
        _wire(odoo19, "json2").json2("hr.employee", "search_count", {})
    assert (refused.value.code, refused.value.message) == (401, "Invalid apikey")
    assert odoo19.emulator.run_autovacuum() == 1


def test_keys_do_not_expire_before_18(odoo17: OdooRun) -> None:
    with pytest.raises(ValueError, match="no API key expiry"):
        odoo17.emulator.set_api_key_expiry(datetime(2030, 1, 1))
    with pytest.raises(OdooFailure, match=r"res\.users\.apikeys"):
        _wire(odoo17).call("res.users.apikeys", "search_read")


def test_a_user_reads_the_expiry_of_their_own_key_from_18(odoo18: OdooRun) -> None:
    expires = datetime(2031, 1, 15, 10, 0, tzinfo=UTC)
    odoo18.emulator.set_api_key_expiry(expires)
    wire = _wire(odoo18)
    (me,) = wire.call("res.users", "read", [INTEGRATION], fields=["api_key_ids"])
    keys = wire.call("res.users.apikeys", "read", me["api_key_ids"], fields=["name", "expiration_date"])
    assert keys == [{"id": INTEGRATION, "name": "punchbridge", "expiration_date": "2031-01-15 10:00:00"}]
    assert wire.call("res.users.apikeys", "search_read", fields=["user_id"]) == [
        {"id": INTEGRATION, "user_id": [INTEGRATION, "punchbridge integration"]}
    ]  # only their own


# -- access questions ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("version", "method"), [("17.0", "check_access_rights"), ("18.0", "has_access")])
def test_access_rights_are_answered_without_writing(version: str, method: str) -> None:
    with running_odoo(version, "jsonrpc") as run:
        run.emulator.deny("hr.attendance", "create")
        wire = _wire(run)
        extra = {"raise_exception": False} if method == "check_access_rights" else {}
        ids = [] if method == "has_access" else None
        assert wire.call("hr.attendance", method, ids, operation="read", **extra) is True
        assert wire.call("hr.attendance", method, ids, operation="create", **extra) is False
        assert run.emulator.attendances() == []


def test_has_access_is_new_in_18_and_check_access_rights_gone_in_19(odoo17: OdooRun, odoo19: OdooRun) -> None:
    with pytest.raises(OdooFailure, match="does not exist"):
        _wire(odoo17).call("hr.attendance", "has_access", [], operation="read")
    with pytest.raises(OdooFailure) as missing:
        _wire(odoo19, "json2").json2("hr.attendance", "check_access_rights", {"operation": "read"})
    assert missing.value.code == 404
    assert _wire(odoo19, "json2").json2("hr.attendance", "has_access", {"operation": "read"}) is True


# -- protocols ------------------------------------------------------------------------------------------------


def test_the_historical_xmlrpc_path_sends_string_fault_codes(odoo17: OdooRun) -> None:
    emulator = odoo17.emulator
    common = xmlrpc.client.ServerProxy(f"{odoo17.url}/xmlrpc/common")
    assert common.login(emulator.database, emulator.login, emulator.api_key) == INTEGRATION
    models = xmlrpc.client.ServerProxy(f"{odoo17.url}/xmlrpc/object")
    with pytest.raises(xmlrpc.client.Fault) as denied:
        models.execute_kw(emulator.database, INTEGRATION, "wrong", "hr.employee", "search_count", [[]])
    assert (denied.value.faultCode, denied.value.faultString) == ("AccessDenied", "Access Denied")
    emulator.add_attendance(ASHA, "2025-10-06 03:30:00")
    with pytest.raises(xmlrpc.client.Fault) as refused:
        models.execute_kw(
            emulator.database,
            INTEGRATION,
            emulator.api_key,
            "hr.attendance",
            "create",
            [{"employee_id": ASHA, "check_in": "2025-10-07 03:30:00"}],
        )
    assert refused.value.faultCode.startswith("warning -- UserError\n\nCannot create new attendance record for Asha")
    assert refused.value.faultString == ""


def test_version_info_has_no_protocol_version_from_19(odoo17: OdooRun, odoo19: OdooRun) -> None:
    for run, protocol_version in ((odoo17, 1), (odoo19, None)):
        body = {"jsonrpc": "2.0", "method": "call", "params": {}, "id": 41}
        reply = httpx.post(f"{run.url}/web/webclient/version_info", json=body).json()
        assert reply["id"] == 41
        assert reply["result"].get("protocol_version") == protocol_version
        assert reply["result"]["server_version"] == run.emulator.version


def test_a_search_for_open_or_overlapping_attendance_finds_exactly_those(odoo17: OdooRun) -> None:
    emulator = odoo17.emulator
    old_open = emulator.add_attendance(ASHA, "2025-09-01 03:00:00")  # open since long before
    spanning = emulator.add_attendance(ASHA, "2025-10-05 20:00:00", "2025-10-06 02:00:00")  # reaches into the span
    inside = emulator.add_attendance(ASHA, "2025-10-06 03:00:00", "2025-10-06 12:00:00")
    emulator.add_attendance(ASHA, "2025-10-04 03:00:00", "2025-10-04 12:00:00")  # before the span
    emulator.add_attendance(ASHA, "2025-10-08 03:00:00", "2025-10-08 12:00:00")  # after it
    emulator.add_attendance(BEN, "2025-10-06 03:00:00")  # another employee
    domain = [
        ["employee_id", "in", [ASHA]],
        "|",
        ["check_out", "=", False],
        "&",
        ["check_in", "<", "2025-10-07 00:00:00"],
        ["check_out", ">=", "2025-10-06 00:00:00"],
    ]
    found = _wire(odoo17).call("hr.attendance", "search_read", domain=domain, fields=["id"], order="id")
    assert [row["id"] for row in found] == [old_open, spanning, inside]
