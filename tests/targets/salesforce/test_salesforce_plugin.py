"""The `salesforce` target: settings, columns, upserts through sObject Collections and Bulk API 2.0, read-back, pull."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from support.salesforce_builders import COLUMNS, STAFF, batch_of, day_record

from punchbridge.mapping.files import load_mapping
from punchbridge.plugin_api import FatalTargetError, TransientError
from punchbridge.plugins.salesforce import SalesforceSettings, SalesforceTarget
from punchbridge.testing.emulators.salesforce import SalesforceEmulator, SalesforceLimits
from punchbridge.testing.emulators.zoho import ManualClock
from punchbridge.testing.http import serve

DAY = "2025-10-06"
EXAMPLES = Path(__file__).resolve().parents[3] / "mappings"


# -- settings and columns ------------------------------------------------------------------------------


def test_settings_need_the_parts_of_the_chosen_flow_and_refuse_plain_http_and_old_versions() -> None:
    jwt = {"client_id": "3MVG9x", "username": "int@acme.example", "private_key": "app.key"}
    assert SalesforceSettings.model_validate(jwt).resolved_audience == "https://login.salesforce.com"
    sandbox = SalesforceSettings.model_validate({**jwt, "login_url": "https://test.salesforce.com/"})
    assert sandbox.login_url == "https://test.salesforce.com" and sandbox.resolved_audience == sandbox.login_url
    for changes, words in (
        ({"username": None}, "auth: jwt needs `username`"),
        ({"auth": "client_credentials"}, "needs `client_secret`"),
        ({"login_url": "http://acme.my.salesforce.com"}, "must use https"),
        ({"api_version": "45.0"}, "47.0 or later"),
        ({"object": "Attendance Day"}, "should match pattern"),
        ({"records_per_call": 201}, "less than or equal to 200"),
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"batch": 5}, "Extra inputs are not permitted"),
    ):
        with pytest.raises(ValidationError, match=words):
            SalesforceSettings.model_validate({**jwt, **changes})


def _settings() -> SalesforceSettings:
    """Validated settings of a `salesforce` target, as `check_columns` receives them."""
    return SalesforceSettings.model_validate(
        {"auth": "client_credentials", "client_id": "x", "client_secret": "not-a-secret"}
    )


@pytest.mark.parametrize(
    ("columns", "words"),
    [
        (("Work_Date__c", "Status__c"), "no column `Employee_Id__c`"),
        (("Employee_Id__c", "Status__c"), "no column `Work_Date__c`"),
        (
            ("Employee_Id__c", "Work_Date__c", "worked hours"),
            "column `worked hours` is not a Salesforce field API name",
        ),
    ],
)
def test_check_columns_names_what_the_mapping_lacks(columns: tuple[str, ...], words: str) -> None:
    problems = SalesforceTarget.check_columns(columns, _settings())
    assert any(words in problem for problem in problems), problems


def test_the_example_mapping_fits_the_target() -> None:
    mapping = load_mapping(EXAMPLES / "salesforce.yaml")
    columns = [f.name for f in mapping.fields]
    assert SalesforceTarget.check_columns(columns, _settings()) == []


# -- sObject Collections --------------------------------------------------------------------------------


def test_days_are_upserted_200_a_call_with_values_in_salesforce_types(
    target: SalesforceTarget, emulator: SalesforceEmulator
) -> None:
    records = [day_record(f"T-{n % 3 + 1}", f"2025-10-{n // 3 % 28 + 1:02d}", minutes=n) for n in range(420)]
    records = list({r.key: r for r in records}.values())
    outcomes = target.push(batch_of(records))
    assert all(o.ok for o in outcomes) and len(outcomes) == len(records)
    assert emulator.calls["upsert"] == -(-len(records) // 200)
    held = emulator.record("E1|2025-10-06|day")
    assert held is not None
    assert held["Work_Date__c"] == date(2025, 10, 6)
    assert held["First_In__c"] == datetime(2025, 10, 6, 3, 32, tzinfo=UTC)  # 09:02 in Kolkata, stored as UTC
    assert {o.remote_id for o in outcomes} == {r["Id"] for r in emulator.records()}


def test_a_resent_batch_updates_the_same_records_and_adds_none(
    target: SalesforceTarget, emulator: SalesforceEmulator
) -> None:
    batch = batch_of([day_record("T-1", DAY), day_record("T-2", DAY)])
    first = target.push(batch)
    again = target.push(batch)
    assert [o.remote_id for o in first] == [o.remote_id for o in again]
    assert len(emulator.records()) == 2
    assert emulator.deliveries == 2


def test_a_changed_day_updates_its_record(target: SalesforceTarget, emulator: SalesforceEmulator) -> None:
    target.push(batch_of([day_record("T-1", DAY, minutes=540)]))
    target.push(batch_of([day_record("T-1", DAY, minutes=600, First_In__c=f"{DAY}T08:02:00+05:30")], batch_id=2))
    (held,) = emulator.records()
    assert held["Worked_Minutes__c"] == 600
    assert held["First_In__c"] == datetime(2025, 10, 6, 2, 32, tzinfo=UTC)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"Work_Date__c": "06/10/2025"}, "Work_Date__c is '06/10/2025', not a date YYYY-MM-DD"),
        ({"Worked_Minutes__c": "nine hours"}, "not a number"),
        ({"Worked_Minutes__c": True}, "not a number"),
    ],
)
def test_a_value_that_does_not_fit_its_field_is_a_dead_letter_and_the_rest_lands(
    target: SalesforceTarget, emulator: SalesforceEmulator, change: dict[str, Any], words: str
) -> None:
    good, bad = target.push(batch_of([day_record("T-1", DAY), day_record("T-2", DAY, **change)]))
    assert good.ok
    assert not bad.ok and words in str(bad.message) and "E2|2025-10-06|day" in str(bad.message)
    assert [r["Employee_Id__c"] for r in emulator.records()] == ["T-1"]


def test_a_time_without_offset_and_no_zone_to_read_it_in_is_a_dead_letter(
    make_target: Callable[..., SalesforceTarget], emulator: SalesforceEmulator
) -> None:
    target = make_target(timezone=None)
    good, bad = target.push(batch_of([day_record("T-1", DAY), day_record("T-2", DAY, First_In__c=f"{DAY}T09:02:00")]))
    assert good.ok and not bad.ok
    assert "a time without offset, so the instant is unknown" in str(bad.message)


def test_a_time_without_offset_is_read_in_the_records_site_zone(
    make_target: Callable[..., SalesforceTarget], emulator: SalesforceEmulator
) -> None:
    target = make_target(timezone=None)
    berlin = dataclasses.replace(day_record("T-1", DAY, First_In__c=f"{DAY}T09:02:00"), timezone="Europe/Berlin")
    (outcome,) = target.push(batch_of([berlin]))
    assert outcome.ok, outcome.message
    assert emulator.records()[0]["First_In__c"] == datetime(2025, 10, 6, 7, 2, tzinfo=UTC), "09:02 CEST is 07:02 UTC"


def test_salesforce_refusals_become_dead_letters_with_its_code_message_and_fields(
    target: SalesforceTarget, emulator: SalesforceEmulator
) -> None:
    emulator.refuse_employee("T-3", "Attendance of T-3 is locked")
    outcomes = target.push(
        batch_of([day_record("T-1", DAY), day_record("T-2", DAY, Status__c="x" * 50), day_record("T-3", DAY)])
    )
    assert [o.ok for o in outcomes] == [True, False, False]
    assert outcomes[1].message is not None and outcomes[1].message.startswith("Salesforce: STRING_TOO_LONG: Status__c")
    assert "(fields: Status__c)" in outcomes[1].message
    assert outcomes[2].message == "Salesforce: FIELD_CUSTOM_VALIDATION_EXCEPTION: Attendance of T-3 is locked"


def test_a_column_the_object_lacks_stops_the_batch_before_anything_is_sent(
    target: SalesforceTarget, emulator: SalesforceEmulator
) -> None:
    columns = (*COLUMNS, "Shoe_Size__c", "LastModifiedDate")
    with pytest.raises(FatalTargetError, match=r"Shoe_Size__c is not a field.*LastModifiedDate cannot be written"):
        target.push(batch_of([day_record("T-1", DAY)], columns=columns))
    assert emulator.calls["upsert"] == 0


def test_a_mapped_external_id_column_is_used_instead_of_the_record_key(
    target: SalesforceTarget, emulator: SalesforceEmulator
) -> None:
    record = day_record("T-1", DAY, Punchbridge_Key__c="ACME-T-1-20251006")
    assert target.push(batch_of([record], columns=(*COLUMNS, "Punchbridge_Key__c")))[0].ok
    assert emulator.record("ACME-T-1-20251006") is not None
    assert emulator.record(record.key) is None


def test_two_records_with_one_external_id_and_other_values_are_both_refused(
    target: SalesforceTarget, emulator: SalesforceEmulator
) -> None:
    columns = (*COLUMNS, "Punchbridge_Key__c")
    records = [
        day_record("T-1", DAY, Punchbridge_Key__c="SAME"),
        day_record("T-2", DAY, Punchbridge_Key__c="SAME"),
        day_record("T-3", DAY, Punchbridge_Key__c="OTHER"),
    ]
    outcomes = target.push(batch_of(records, columns=columns))
    assert [o.ok for o in outcomes] == [False, False, True]
    assert "have the same Punchbridge_Key__c 'SAME'" in str(outcomes[0].message)
    assert emulator.record("SAME") is None


def test_a_key_or_external_id_column_that_is_empty_is_refused_locally(
    target: SalesforceTarget, emulator: SalesforceEmulator
) -> None:
    columns = (*COLUMNS, "Punchbridge_Key__c")
    (outcome,) = target.push(batch_of([day_record("T-1", DAY, Punchbridge_Key__c=" ")], columns=columns))
    assert not outcome.ok and "Punchbridge_Key__c is empty" in str(outcome.message)
    assert emulator.calls["upsert"] == 0


# -- Bulk API 2.0 ------------------------------------------------------------------------------------------


def test_a_batch_at_the_bulk_threshold_goes_through_one_ingest_job(
    make_target: Callable[..., SalesforceTarget], emulator: SalesforceEmulator
) -> None:
    target = make_target(bulk_threshold=50)
    records = [day_record(f"T-{n}", DAY) for n in range(60)]
    records[7] = day_record("T-7", DAY, Status__c="s" * 80)  # Salesforce refuses this one row
    records[8] = day_record("T-8", DAY, Status__c='late, "very"\nlate #N/A')  # CSV must quote it whole
    outcomes = target.push(batch_of(records))
    assert emulator.calls["upsert"] == 0
    assert len(emulator.jobs) == 1 and next(iter(emulator.jobs.values())).state == "JobComplete"
    assert emulator.calls["bulk"] <= 8, "create, upload, close, a few polls, two result reads"
    assert [o.ok for o in outcomes].count(False) == 1 and not outcomes[7].ok
    assert "STRING_TOO_LONG" in str(outcomes[7].message) and "(fields: Status__c)" in str(outcomes[7].message)
    assert emulator.record("E8|2025-10-06|day")["Status__c"] == 'late, "very"\nlate #N/A'  # type: ignore[index]
    by_key = {r["Punchbridge_Key__c"]: r["Id"] for r in emulator.records()}
    assert all(o.remote_id == by_key[o.key] for o in outcomes if o.ok)


def test_bulk_and_collections_leave_the_same_record_an_empty_value_clears_the_field(
    make_target: Callable[..., SalesforceTarget], emulator: SalesforceEmulator
) -> None:
    make_target().push(batch_of([day_record("T-1", DAY), day_record("T-2", DAY)]))
    records = [day_record("T-1", DAY, Last_Out__c=None, Status__c=""), day_record("T-2", DAY, Last_Out__c="")]
    outcomes = make_target(bulk_threshold=1).push(batch_of(records, batch_id=2))
    assert all(o.ok for o in outcomes)
    held = {r["Employee_Id__c"]: r for r in emulator.records()}
    assert held["T-1"]["Last_Out__c"] is None and held["T-1"]["Status__c"] is None
    assert held["T-2"]["Last_Out__c"] is None and held["T-2"]["Status__c"] == "present"


def test_a_bulk_job_that_does_not_finish_in_time_is_aborted_and_retried_later(
    clock: ManualClock, key_pair: tuple[Path, bytes]
) -> None:
    slow = SalesforceEmulator(
        certificate=key_pair[1], clock=clock, limits=SalesforceLimits(bulk_polls_in_progress=1000)
    )
    with serve(slow.app) as server:
        settings = slow.plugin_settings(server.url, private_key=key_pair[0], bulk_threshold=1, bulk_timeout=60)
        target = SalesforceTarget("salesforce", settings, clock=clock, sleep=clock.sleep)
        try:
            with pytest.raises(TransientError, match="still InProgress after 60 s"):
                target.push(batch_of([day_record("T-1", DAY)]))
        finally:
            target.close()
    assert [job.state for job in slow.jobs.values()] == ["Aborted"]


# -- read-back and employees --------------------------------------------------------------------------------


def test_read_back_gives_the_days_held_with_local_times_for_some_or_all_employees(
    target: SalesforceTarget, emulator: SalesforceEmulator
) -> None:
    target.push(
        batch_of([day_record("T-1", "2025-10-06"), day_record("T-2", "2025-10-07"), day_record("T-1", "2025-10-20")])
    )
    held = list(target.read_back(date(2025, 10, 6), date(2025, 10, 7)))
    assert sorted((h.employee, h.work_date.isoformat()) for h in held) == [("T-1", "2025-10-06"), ("T-2", "2025-10-07")]
    first = next(h for h in held if h.employee == "T-1")
    assert first.fields["First_In__c"] == "2025-10-06T09:02:00+05:30"
    assert first.fields["Worked_Minutes__c"] == 540 and first.fields["Punchbridge_Key__c"] == "E1|2025-10-06|day"
    assert first.remote_id == emulator.record("E1|2025-10-06|day")["Id"]  # type: ignore[index]
    only = list(target.read_back(date(2025, 10, 1), date(2025, 10, 31), ["T-2", "O'Neil\\", "T-9"]))
    assert [h.employee for h in only] == ["T-2"]


def test_the_employee_pull_reads_users_with_an_employee_number_inactive_ones_too(
    make_target: Callable[..., SalesforceTarget],
) -> None:
    target = make_target(people_badge_field="Badge_Id__c")
    pulled = {e.target_id: e for e in target.pull_employees()}
    assert set(pulled) == {e.target_id for e in STAFF}
    assert pulled["T-4"].active is False and pulled["T-4"].name == "Dana O'Neil"
    assert pulled["T-1"].email == "asha@acme.example" and pulled["T-1"].badge == "B-1"
    assert pulled["T-1"].department == "Operations"
    assert pulled["T-1"].extra["salesforce_id"].startswith("005")
    since = list(target.pull_employees(since=datetime(2025, 6, 1, tzinfo=UTC)))
    assert sorted(e.target_id for e in since) == ["T-3", "T-4"]
