"""The salesforce target across sites and zones, its stored form, and `validate --online`'s live checks."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date

from support.salesforce_builders import SalesforceApiClient, attendance, batch_of, day_record

from punchbridge.plugins.salesforce import SalesforceSettings, SalesforceTarget
from punchbridge.testing.emulators.salesforce import SalesforceEmulator

DAY = "2026-03-30"  # Berlin is on summer time (+02:00), Bangalore on +05:30


def test_read_back_shows_each_employees_times_in_their_own_sites_zone(
    make_target: Callable[..., SalesforceTarget],
) -> None:
    target = make_target(timezone=None)
    target.push(batch_of([day_record("T-1", DAY), day_record("T-2", DAY, First_In__c=f"{DAY}T09:02:00+02:00")]))
    held = {
        h.employee: h for h in target.read_back(date(2026, 3, 30), date(2026, 3, 30), zones={"T-2": "Europe/Berlin"})
    }
    assert held["T-2"].fields["First_In__c"] == f"{DAY}T09:02:00+02:00"
    assert held["T-1"].fields["First_In__c"] == f"{DAY}T03:32:00+00:00", "no zone known: UTC"
    told = {
        h.employee: h for h in target.read_back(date(2026, 3, 30), date(2026, 3, 30), zones={"T-1": "Asia/Kolkata"})
    }
    assert told["T-1"].fields["First_In__c"] == f"{DAY}T09:02:00+05:30"


def test_the_timezone_setting_overrides_every_employees_zone(make_target: Callable[..., SalesforceTarget]) -> None:
    target = make_target(timezone="Asia/Kolkata")
    target.push(batch_of([day_record("T-2", DAY, First_In__c=f"{DAY}T09:02:00+02:00")]))
    (held,) = target.read_back(date(2026, 3, 30), date(2026, 3, 30), zones={"T-2": "Europe/Berlin"})
    assert held.fields["First_In__c"] == f"{DAY}T12:32:00+05:30"


def test_timezone_is_optional() -> None:
    settings = SalesforceSettings(client_id="x", username="u@example.com", private_key="k.pem")  # type: ignore[arg-type]
    assert settings.timezone is None


def test_the_stored_form_keeps_an_empty_text_blank_and_every_number_as_sent(
    target: SalesforceTarget, emulator: SalesforceEmulator
) -> None:
    record = day_record("T-1", DAY, minutes=487 / 60, Status__c="")
    stored = SalesforceTarget.stored_form(record.fields, target.settings)
    assert stored["Status__c"] is None and stored["Worked_Minutes__c"] == 487 / 60
    target.push(batch_of([dataclasses.replace(record, fields=stored)]))
    (held,) = target.read_back(date(2026, 3, 30), date(2026, 3, 30))
    assert held.fields["Status__c"] is None and held.fields["Worked_Minutes__c"] == 487 / 60


def test_the_emulator_keeps_an_empty_text_blank_as_salesforce_does(
    api: SalesforceApiClient, emulator: SalesforceEmulator
) -> None:
    reply = api.upsert([attendance("K-1", Status__c="")])
    assert reply.status_code == 200 and reply.json()[0]["success"]
    assert emulator.record("K-1")["Status__c"] is None  # type: ignore[index]


def test_the_emulator_refuses_a_write_the_user_has_no_access_for(
    api: SalesforceApiClient, emulator: SalesforceEmulator
) -> None:
    emulator.deny("Attendance_Day__c", "createable")
    (result,) = api.upsert([attendance("K-2")]).json()
    assert not result["success"] and result["errors"][0]["statusCode"] == "INSUFFICIENT_ACCESS_OR_READONLY"
    described = api.request("GET", "/services/data/v62.0/sobjects/Attendance_Day__c/describe").json()
    assert described["createable"] is False and described["updateable"] is True


# -- validate --online --------------------------------------------------------------------------------


def _said(target: SalesforceTarget) -> dict[str, tuple[bool, bool, str]]:
    return {check.what: (check.ok, check.warning, check.message) for check in target.check_online()}


def test_online_checks_log_in_describe_the_object_and_read_the_allowance(
    target: SalesforceTarget, emulator: SalesforceEmulator
) -> None:
    said = _said(target)
    assert all(ok for ok, _warning, _message in said.values()), said
    assert set(said) >= {"login", "access to Attendance_Day__c", "external id field Punchbridge_Key__c",
                         "employee_field", "date_field", "API allowance"}  # fmt: skip
    assert said["date_field"][2] == "Work_Date__c" and "API requests left" in said["API allowance"][2]
    assert emulator.records() == [], "nothing written"


def test_online_checks_fail_without_access_or_the_external_id_field(
    make_target: Callable[..., SalesforceTarget], emulator: SalesforceEmulator
) -> None:
    emulator.deny("Attendance_Day__c", "updateable")
    said = _said(make_target())
    assert said["access to Attendance_Day__c"][:2] == (False, False)
    assert "cannot edit" in said["access to Attendance_Day__c"][2]
    wrong = _said(make_target(external_id_field="Status__c"))
    assert (
        wrong["describe Attendance_Day__c"][0] is False
        and "not an External ID field" in wrong["describe Attendance_Day__c"][2]
    )
    assert _said(make_target(date_field="First_In__c"))["date_field"][:2] == (False, False)


def test_online_checks_warn_when_the_daily_allowance_runs_low_and_fail_a_refused_login(
    make_target: Callable[..., SalesforceTarget], emulator: SalesforceEmulator
) -> None:
    emulator.limits = dataclasses.replace(emulator.limits, daily_api_requests=2)  # describe and limits use both
    ok, warning, message = _said(make_target())["API allowance"]
    assert ok and warning and "a sync may stop" in message
    refused = _said(make_target(client_id="3MVG9-not-the-app"))
    assert refused["login"][0] is False and set(refused) == {"login"}
