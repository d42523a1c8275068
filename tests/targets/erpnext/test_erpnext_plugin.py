"""The `erpnext` target: settings, columns, days as check-ins (only the ones ERPNext lacks), read-back, pull."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from support.erpnext_builders import INTERVALS, batch_of, day_record, intervals_record

from punchbridge.mapping.files import load_mapping
from punchbridge.plugin_api import Employee
from punchbridge.plugins.erpnext import ErpNextSettings, ErpNextTarget
from punchbridge.testing.emulators.erpnext import ErpNextEmulator
from punchbridge.testing.http import serve

DAY = "2025-10-06"
EXAMPLES = Path(__file__).resolve().parents[3] / "mappings"


def _settings() -> ErpNextSettings:
    """Validated settings of an `erpnext` target, as `check_columns` receives them."""
    return ErpNextSettings.model_validate(
        {"url": "https://hr.example.com", "api_key": "k", "api_secret": "s", "timezone": "Asia/Kolkata"}
    )


def _punches(emulator: ErpNextEmulator) -> list[tuple[str, str, str]]:
    return sorted((c["employee"], c["log_type"], c["time"]) for c in emulator.checkins())


# -- settings and columns ----------------------------------------------------------------------------


def test_settings_need_the_site_zone_and_refuse_plain_http_and_a_colon_in_the_key() -> None:
    base = {"url": "https://erp.acme.example/", "api_key": "k", "api_secret": "s", "timezone": "Asia/Kolkata"}
    assert ErpNextSettings.model_validate(base).url == "https://erp.acme.example"
    for changes, words in (
        ({"timezone": None}, "timezone"),
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"url": "http://erp.acme.example"}, "must use https"),
        ({"api_key": "a:b"}, "holds ':'"),
        ({"api_secret": " "}, "api_secret is empty"),
        ({"checkin_api": "v15"}, "'hrms' or 'erpnext'"),
        ({"concurrency": 64}, "less than or equal to 16"),
        ({"token": "x"}, "Extra inputs are not permitted"),
    ):
        with pytest.raises(ValidationError, match=words):
            ErpNextSettings.model_validate({k: v for k, v in {**base, **changes}.items() if v is not None})


@pytest.mark.parametrize(
    ("columns", "words"),
    [
        (("check_in", "check_out"), "no column `employee`"),
        (("employee", "check_in"), "no column `check_out`"),
        (("employee", "date"), "no column `check_in`, `check_out`"),
        (("employee", "intervals", "check_out"), "columns `intervals` and `check_out` together"),
    ],
)
def test_check_columns_names_what_the_mapping_lacks(columns: tuple[str, ...], words: str) -> None:
    assert any(words in problem for problem in ErpNextTarget.check_columns(columns, _settings())), words


def test_the_example_mapping_fits_the_target() -> None:
    mapping = load_mapping(EXAMPLES / "erpnext.yaml")
    assert ErpNextTarget.check_columns([f.name for f in mapping.fields], _settings()) == []


# -- push ----------------------------------------------------------------------------------------------


def test_a_day_becomes_an_in_and_an_out_check_in_at_site_local_time(
    target: ErpNextTarget, emulator: ErpNextEmulator
) -> None:
    (outcome,) = target.push(batch_of([day_record("T-1", DAY)]))
    name = emulator.employee_name("T-1")
    assert _punches(emulator) == [(name, "IN", "2025-10-06 09:02:00"), (name, "OUT", "2025-10-06 18:12:00")]
    assert {c["device_id"] for c in emulator.checkins()} == {"punchbridge"}
    assert outcome.ok and outcome.remote_id == "Employee Checkin:" + ",".join(c["name"] for c in emulator.checkins())


def test_times_are_converted_to_the_sites_zone_before_the_offset_is_dropped(
    make_target: Callable[..., ErpNextTarget], emulator: ErpNextEmulator
) -> None:
    make_target(timezone="Asia/Dubai").push(batch_of([day_record("T-1", DAY)]))
    assert [t for _, _, t in _punches(emulator)] == ["2025-10-06 07:32:00", "2025-10-06 16:42:00"]


def test_a_resent_batch_sends_nothing_and_a_changed_day_only_its_new_punch(
    target: ErpNextTarget, emulator: ErpNextEmulator
) -> None:
    batch = batch_of([day_record("T-1", DAY), day_record("T-2", DAY)])
    target.push(batch)
    sent = emulator.calls["add_log"]
    assert all(o.ok for o in target.push(batch))
    assert emulator.calls["add_log"] == sent == 4
    (changed,) = target.push(batch_of([day_record("T-1", DAY, check_in="07:30")], batch_id=2))
    assert changed.ok and emulator.calls["add_log"] == 5
    name = emulator.employee_name("T-1")
    assert [(k, t) for e, k, t in _punches(emulator) if e == name] == [
        ("IN", "2025-10-06 07:30:00"), ("IN", "2025-10-06 09:02:00"), ("OUT", "2025-10-06 18:12:00"),
    ]  # fmt: skip


def test_every_interval_becomes_punches_and_an_open_one_only_its_in(
    target: ErpNextTarget, emulator: ErpNextEmulator
) -> None:
    text = f"{DAY}T09:00:00+05:30/{DAY}T13:00:00+05:30;{DAY}T13:45:00+05:30/"
    (outcome,) = target.push(batch_of([intervals_record("T-1", DAY, text)], columns=INTERVALS))
    assert outcome.ok
    times = [(kind, moment[11:]) for _, kind, moment in _punches(emulator)]
    assert times == [("IN", "09:00:00"), ("IN", "13:45:00"), ("OUT", "13:00:00")]


def test_a_day_without_punches_is_delivered_without_a_call(target: ErpNextTarget, emulator: ErpNextEmulator) -> None:
    (outcome,) = target.push(batch_of([day_record("T-1", DAY, check_in=None, check_out=None)]))
    assert outcome.ok and emulator.calls["add_log"] == 0


def test_erpnexts_refusals_are_dead_letters_with_its_words_and_the_rest_lands(
    target: ErpNextTarget, emulator: ErpNextEmulator
) -> None:
    emulator.refuse_employee("T-2", "Attendance for <b>T-2</b> is locked")
    outcomes = target.push(
        batch_of([day_record("T-1", DAY), day_record("T-2", DAY), day_record("T-4", DAY), day_record("T-9", DAY)])
    )
    assert [o.ok for o in outcomes] == [True, False, False, False]
    assert outcomes[1].message == (
        "ERPNext refused 2 of 2 punches of T-2: IN 2025-10-06 09:02:00: Attendance for T-2 is locked; "
        "OUT 2025-10-06 18:12:00: Attendance for T-2 is locked"
    )
    assert "Transactions cannot be created for an Inactive Employee" in str(outcomes[2].message)
    unknown = "No Employee found for the given employee field value. 'attendance_device_id': T-9"
    assert unknown in str(outcomes[3].message)
    assert len(emulator.checkins()) == 2


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"check_in": "2025-10-06T09:02:00"}, "has no UTC offset"),
        ({"check_in": "09:02"}, "is not a local ISO-8601 time"),
        ({"check_in": "2025-10-06T19:00:00+05:30"}, "check_out 2025-10-06T18:12:00+05:30 is before check_in"),
        ({"employee": ""}, "column `employee` is empty"),
    ],
)
def test_a_record_that_cannot_be_punches_is_refused_before_anything_is_sent(
    target: ErpNextTarget, emulator: ErpNextEmulator, fields: dict[str, Any], words: str
) -> None:
    record = day_record("T-1", DAY)
    record = type(record)(record.key, {**record.fields, **fields}, record.content_hash)
    (outcome,) = target.push(batch_of([record]))
    assert not outcome.ok and words in str(outcome.message) and record.key in str(outcome.message)
    assert emulator.calls["add_log"] == 0


def test_two_records_for_one_employee_and_day_with_other_punches_are_both_refused(
    target: ErpNextTarget, emulator: ErpNextEmulator
) -> None:
    one, other = day_record("T-1", DAY), day_record("T-1", DAY, check_in="08:00")
    other = type(other)("E1-twin|2025-10-06|day", other.fields, "h2")
    outcomes = target.push(batch_of([one, other, day_record("T-2", DAY)]))
    assert [o.ok for o in outcomes] == [False, False, True]
    assert "two terminal ids for one employee?" in str(outcomes[0].message)


def test_a_punch_erpnext_has_from_elsewhere_counts_as_delivered() -> None:
    old = ErpNextEmulator(version=13)
    old.seed_employees([Employee("T-1", "Asha Rao")])
    with serve(old.app) as server, httpx.Client(base_url=server.url) as device:
        device.headers["Authorization"] = f"token {old.api_key}:{old.api_secret}"
        device.post(f"/api/method/{old.method}", data={"employee_field_value": "T-1", "timestamp": f"{DAY} 18:12:00",
                                                      "log_type": "IN"})  # fmt: skip
        target = ErpNextTarget("erpnext", old.plugin_settings(server.url))
        try:
            (outcome,) = target.push(batch_of([day_record("T-1", DAY)]))
        finally:
            target.close()
    assert outcome.ok, "ERPNext 13 refuses a second punch at 18:12 whatever its log type: it is there already"
    assert len(old.checkins()) == 2


def test_punches_go_out_side_by_side_never_more_than_concurrency(
    make_target: Callable[..., ErpNextTarget], emulator: ErpNextEmulator
) -> None:
    flight = {"now": 0, "most": 0}

    async def counted(scope: Any, receive: Any, send: Any) -> None:
        flight["now"] += 1
        flight["most"] = max(flight["most"], flight["now"])
        try:
            await asyncio.sleep(0.005)
            await emulator.app(scope, receive, send)
        finally:
            flight["now"] -= 1

    with serve(counted) as server:
        target = make_target(url=server.url, concurrency=3)
        records = [day_record(f"T-{n}", f"2025-10-{day:02d}") for n in (1, 2, 3) for day in range(1, 9)]
        assert all(o.ok for o in target.push(batch_of(records)))
        target.close()
    assert len(emulator.checkins()) == 48
    assert 1 < flight["most"] <= 3


def test_the_employee_directory_is_read_once_a_run_and_a_newcomer_looked_up_once(
    target: ErpNextTarget, emulator: ErpNextEmulator
) -> None:
    target.push(batch_of([day_record("T-1", DAY)]))
    assert emulator.calls["employees"] == 2, "four employees in pages of three"
    emulator.seed_employees([Employee("T-5", "Esha New")])
    assert target.push(batch_of([day_record("T-5", DAY), day_record("T-2", DAY)], batch_id=2))[0].ok
    target.push(batch_of([day_record("T-5", "2025-10-07")], batch_id=3))
    assert emulator.calls["employees"] == 3


# -- read-back and employees ------------------------------------------------------------------------------


def test_read_back_gives_days_as_a_shift_reads_them_night_shifts_included(
    target: ErpNextTarget, emulator: ErpNextEmulator
) -> None:
    night = "2025-10-07T22:00:00+05:30/2025-10-08T06:00:00+05:30"
    target.push(batch_of([intervals_record("T-1", "2025-10-07", night)], columns=INTERVALS))
    target.push(batch_of([day_record("T-1", DAY), day_record("T-2", DAY), day_record("T-2", "2025-10-09")]))
    held = list(target.read_back(date(2025, 10, 6), date(2025, 10, 7)))
    assert sorted((h.employee, h.work_date.isoformat()) for h in held) == [
        ("T-1", "2025-10-06"), ("T-1", "2025-10-07"), ("T-2", "2025-10-06"),
    ]  # fmt: skip
    by_day = {(h.employee, h.work_date.isoformat()): h for h in held}
    assert by_day[("T-1", "2025-10-07")].fields == {
        "check_in": "2025-10-07T22:00:00+05:30",
        "check_out": "2025-10-08T06:00:00+05:30",
        "intervals": "2025-10-07T22:00:00+05:30/2025-10-08T06:00:00+05:30",
    }
    assert by_day[("T-1", "2025-10-06")].remote_id.startswith("Employee Checkin:EMP-CKIN-10-2025-")  # type: ignore[union-attr]
    only = list(target.read_back(date(2025, 10, 1), date(2025, 10, 31), ["T-2", "T-9"]))
    assert sorted(h.work_date.isoformat() for h in only) == ["2025-10-06", "2025-10-09"]
    assert list(target.read_back(date(2025, 10, 1), date(2025, 10, 31), ["T-9"])) == []


def test_the_employee_pull_pages_to_the_end_and_keeps_leavers(target: ErpNextTarget, emulator: ErpNextEmulator) -> None:
    pulled = {e.target_id: e for e in target.pull_employees()}
    assert set(pulled) == {"T-1", "T-2", "T-3", "T-4"}
    assert pulled["T-4"].active is False and pulled["T-4"].extra["status"] == "Left"
    assert pulled["T-1"].email == "asha@acme.example" and pulled["T-1"].department == "Operations"
    assert pulled["T-1"].badge == "T-1" and pulled["T-1"].extra["erpnext_name"] == emulator.employee_name("T-1")
    assert pulled["T-1"].modified_at == datetime(2025, 1, 6, 8, tzinfo=UTC)
    since = sorted(e.target_id for e in target.pull_employees(since=datetime(2025, 6, 1, tzinfo=UTC)))
    assert since == ["T-3", "T-4"]


def test_with_employee_fieldname_name_the_document_name_is_the_key(
    make_target: Callable[..., ErpNextTarget], emulator: ErpNextEmulator
) -> None:
    target = make_target(employee_fieldname="name")
    name = emulator.employee_name("T-2")
    assert name is not None
    assert name in {e.target_id for e in target.pull_employees()}
    assert target.push(batch_of([day_record(name, DAY)]))[0].ok
    assert [h.employee for h in target.read_back(date(2025, 10, 6), date(2025, 10, 6))] == [name]
