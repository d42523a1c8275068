"""The `zoho_people` target against what Zoho People is known to do: site zones, minute precision,
bulkImport replies of every known shape confirmed by read-back, and `validate --online`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import ValidationError
from support.zoho_builders import batch_of, day_record

from punchbridge.plugin_api import Record
from punchbridge.plugins.zoho_people import ZohoPeopleSettings, ZohoPeopleTarget
from punchbridge.plugins.zoho_people.ledger import SentDays
from punchbridge.testing.emulators.zoho import ManualClock, ZohoEmulator

DAY = "2025-10-06"
MONDAY = date(2025, 10, 6)


def _record(employee: str, day: str, check_in: str, check_out: str, zone: str | None) -> Record:
    fields = {"employee": employee, "check_in": check_in, "check_out": check_out}
    return Record(f"C-{employee}|{day}|day", fields, f"h-{check_in}-{check_out}", zone)


def _held(emulator: ZohoEmulator, employee: str, day: date) -> tuple[datetime | None, datetime | None]:
    view = emulator.day(employee, day)
    return (view.first_in, view.last_out) if view else (None, None)


# -- zones ----------------------------------------------------------------------------------------------------


def test_each_record_goes_as_its_own_sites_wall_time(target: ZohoPeopleTarget, emulator: ZohoEmulator) -> None:
    kolkata = _record("T-1", DAY, f"{DAY}T03:30:00Z", f"{DAY}T12:30:00Z", "Asia/Kolkata")  # written in UTC
    berlin = _record("T-2", "2025-03-31", "2025-03-31T09:00:00+02:00", "2025-03-31T17:00:00+02:00", "Europe/Berlin")
    assert all(o.ok for o in target.push(batch_of([kolkata, berlin])))
    assert _held(emulator, "T-1", MONDAY) == (datetime(2025, 10, 6, 9), datetime(2025, 10, 6, 18))
    assert _held(emulator, "T-2", date(2025, 3, 31)) == (datetime(2025, 3, 31, 9), datetime(2025, 3, 31, 17))


def test_with_the_organisations_zone_every_record_is_converted_to_it_and_read_back_to_its_site(
    make_target: Callable[..., ZohoPeopleTarget], emulator: ZohoEmulator
) -> None:
    with pytest.raises(ValidationError, match="entry_zone: organisation needs timezone"):
        ZohoPeopleSettings.model_validate({"client_id": "c", "client_secret": "s", "refresh_token": "r",
                                           "entry_zone": "organisation"})  # fmt: skip
    target = make_target(entry_zone="organisation", timezone="Asia/Kolkata")
    night = _record("T-2", DAY, f"{DAY}T22:00:00+02:00", "2025-10-07T06:00:00+02:00", "Europe/Berlin")
    assert target.push(batch_of([night]))[0].ok
    assert _held(emulator, "T-2", date(2025, 10, 7)) == (datetime(2025, 10, 7, 1, 30), datetime(2025, 10, 7, 9, 30))
    (held,) = target.read_back(MONDAY, MONDAY, ["T-2"], zones={"T-2": "Europe/Berlin"})
    assert (held.work_date, held.fields["check_in"], held.fields["check_out"]) == (
        MONDAY, night.fields["check_in"], night.fields["check_out"],
    )  # fmt: skip
    assert target.push(batch_of([night], batch_id=2))[0].ok and emulator.deliveries == 1


def test_read_back_gives_each_employee_their_own_sites_offset(target: ZohoPeopleTarget) -> None:
    berlin = _record("T-2", DAY, f"{DAY}T09:00:00+02:00", f"{DAY}T17:00:00+02:00", "Europe/Berlin")
    target.push(batch_of([day_record("T-1", DAY), berlin]))
    zones = {"T-1": "Asia/Kolkata", "T-2": "Europe/Berlin"}
    held = {h.employee: h.fields for h in target.read_back(MONDAY, MONDAY, ["T-1", "T-2"], zones=zones)}
    assert held["T-1"]["check_in"] == "2025-10-06T09:00:00+05:30"
    assert held["T-2"] == {
        "check_in": berlin.fields["check_in"],
        "check_out": berlin.fields["check_out"],
        "intervals": f"{berlin.fields['check_in']}/{berlin.fields['check_out']}",
    }


# -- minute precision -----------------------------------------------------------------------------------------


def test_times_go_and_come_back_to_the_minute_so_a_read_back_matches_what_was_sent(
    target: ZohoPeopleTarget, emulator: ZohoEmulator
) -> None:
    record = _record("T-1", DAY, f"{DAY}T09:02:11+05:30", f"{DAY}T18:12:59+05:30", "Asia/Kolkata")
    stored = ZohoPeopleTarget.stored_form(record.fields, target.settings)
    assert (stored["check_in"], stored["check_out"]) == (f"{DAY}T09:02:00+05:30", f"{DAY}T18:12:00+05:30")
    assert target.push(batch_of([record]))[0].ok
    assert _held(emulator, "T-1", MONDAY) == (datetime(2025, 10, 6, 9, 2), datetime(2025, 10, 6, 18, 12))
    (held,) = target.read_back(MONDAY, MONDAY, ["T-1"], zones={"T-1": "Asia/Kolkata"})
    assert {k: held.fields[k] for k in ("check_in", "check_out")} == {k: stored[k] for k in ("check_in", "check_out")}
    later_seconds = _record("T-1", DAY, f"{DAY}T09:02:40+05:30", f"{DAY}T18:12:01+05:30", "Asia/Kolkata")
    calls = sum(emulator.calls.values())
    assert target.push(batch_of([later_seconds], batch_id=2))[0].ok
    assert sum(emulator.calls.values()) == calls, "the same minutes are the same punches: nothing is sent"


def test_intervals_are_stored_to_the_minute_too(target: ZohoPeopleTarget) -> None:
    fields = {"employee": "T-1", "intervals": f"{DAY}T09:00:30+05:30/{DAY}T13:00:45+05:30;{DAY}T13:45:05+05:30/"}
    stored = ZohoPeopleTarget.stored_form(fields, target.settings)
    assert stored["intervals"] == f"{DAY}T09:00:00+05:30/{DAY}T13:00:00+05:30;{DAY}T13:45:00+05:30/"
    assert ZohoPeopleTarget.stored_form({"check_in": "soon"}, target.settings) == {"check_in": "soon"}


def test_a_state_file_written_to_the_second_never_resends_a_punch_zoho_holds(
    make_target: Callable[..., ZohoPeopleTarget], emulator: ZohoEmulator, settings: dict[str, Any]
) -> None:
    first = make_target()
    record = day_record("T-1", DAY, "09:02", "18:12")
    first.push(batch_of([record]))
    ledger = first.ledger()
    ledger.save(first.scope, {("T-1", DAY): ({("in", f"{DAY} 09:02:00"), ("out", f"{DAY} 18:12:37")}, None)})
    first.close()
    seconds = Record(record.key, {**record.fields, "check_out": f"{DAY}T18:12:37+05:30"}, "h2")
    calls = sum(emulator.calls.values())
    assert make_target().push(batch_of([seconds], batch_id=2))[0].ok
    assert sum(emulator.calls.values()) == calls


def test_read_back_reads_zohos_twelve_hour_entries_across_noon_and_midnight(target: ZohoPeopleTarget) -> None:
    night = "2025-10-06T11:45:00+05:30/2025-10-06T12:30:00+05:30;2025-10-06T23:50:00+05:30/2025-10-07T00:20:00+05:30"
    target.push(
        batch_of([Record(f"C-T-1|{DAY}|day", {"employee": "T-1", "intervals": night}, "h")], ("employee", "intervals"))
    )
    (held,) = target.read_back(MONDAY, date(2025, 10, 7), ["T-1"], zones={"T-1": "Asia/Kolkata"})
    assert held.work_date == MONDAY and held.fields["intervals"] == night


# -- bulkImport replies of every known shape ------------------------------------------------------------------


@pytest.mark.parametrize("bulk_reply", ["success", "envelope", "rows"])
def test_whatever_the_reply_shape_good_days_land_once_and_bad_ones_are_dead_letters(
    make_target: Callable[..., ZohoPeopleTarget], emulator: ZohoEmulator, bulk_reply: str
) -> None:
    emulator.refuse_employee("T-3", "Attendance period is locked")
    target = make_target(punches_per_call=200)
    records = [day_record(e, f"2025-10-{d:02d}") for e in ("T-1", "T-2", "T-3", "T-77") for d in (6, 7, 8)]
    outcomes = target.push(batch_of(records))
    by_employee = {o.key.split("|")[0]: o for o in outcomes}
    assert by_employee["C-T-1"].ok and by_employee["C-T-2"].ok
    assert [o.ok for o in outcomes].count(True) == 6
    assert all("T-3" in str(o.message) for o in outcomes if o.key.startswith("C-T-3|"))
    if bulk_reply != "envelope":
        assert all("Attendance period is locked" in str(o.message) for o in outcomes if o.key.startswith("C-T-3|"))
    else:  # the reply said nothing of the dropped rows: the days were read back and found missing
        assert emulator.calls["getAttendanceEntries"] == 12
        assert all("not counted delivered" in str(o.message) for o in outcomes if not o.ok)
    assert emulator.deliveries == 6 and emulator.duplicate_punches == 0
    assert all(o.ok for o in target.push(batch_of(records[:6], batch_id=2)))
    assert emulator.deliveries == 6, "a rerun sends nothing"


def test_a_refused_call_is_split_by_employee_so_a_bad_one_costs_few_calls(
    make_target: Callable[..., ZohoPeopleTarget], emulator: ZohoEmulator
) -> None:
    target = make_target(punches_per_call=200)
    staff = ("T-1", "T-2", "T-3", "T-77")
    records = [day_record(e, f"2025-10-{d:02d}") for e in staff for d in range(6, 11)]
    outcomes = target.push(batch_of(records))
    assert [o.ok for o in outcomes] == [True] * 15 + [False] * 5
    assert emulator.calls["bulkImport"] <= 1 + 4 + 8, "halving by employee, then by day"
    assert emulator.deliveries == 15


# -- validate --online ----------------------------------------------------------------------------------------


def test_validate_online_mints_a_token_reads_an_employee_and_attendance_and_says_the_budget(
    target: ZohoPeopleTarget, emulator: ZohoEmulator
) -> None:
    checks = {c.what: c for c in target.check_online()}
    assert list(checks) == ["access token", "read an employee", "read attendance", "daily API budget"]
    assert all(c.ok and not c.warning for c in checks.values()), checks
    assert checks["read an employee"].message == "EmployeeID T-1"
    assert checks["daily API budget"].message.startswith("4998 of 5000 calls left today")
    assert emulator.punches_written == 0 and emulator.calls["bulkImport"] == 0


def test_validate_online_names_what_zoho_refused(
    make_target: Callable[..., ZohoPeopleTarget], emulator: ZohoEmulator
) -> None:
    (token,) = make_target(refresh_token="1000.revoked").check_online()
    assert (token.what, token.ok) == ("access token", False) and "invalid_code" in token.message
    denied = '{"response": {"status": 1, "errors": {"code": 7040, "message": "Permission denied"}}}'
    emulator.fail_next("getRecords", status=200, content_type="application/json", body=denied)
    checks = {c.what: c for c in make_target().check_online()}
    assert not checks["read an employee"].ok and "Permission denied" in checks["read an employee"].message


def test_validate_online_warns_when_little_of_the_days_budget_is_left(
    make_target: Callable[..., ZohoPeopleTarget], settings: dict[str, Any], clock: ManualClock
) -> None:
    target = make_target()
    today = datetime.fromtimestamp(clock(), UTC).date().isoformat()
    ledger = SentDays(settings["state_file"])
    ledger.set_calls(target.scope, today, 4600, {})  # an earlier run today
    ledger.close()
    budget = {c.what: c for c in target.check_online()}["daily API budget"]
    assert budget.ok and budget.warning and budget.message.startswith("398 of 5000 calls left today")
