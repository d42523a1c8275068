"""The Salesforce emulator refuses what Salesforce refuses, so a plugin that ignores a limit fails against it."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import jwt
import pytest
from support.salesforce_builders import DATA, SalesforceApiClient, attendance

from punchbridge.testing.emulators.salesforce import JWT_GRANT, SalesforceEmulator, SalesforceLimits, generate_jwt_key
from punchbridge.testing.emulators.zoho import ManualClock
from punchbridge.testing.http import serve

JOBS = f"{DATA}/jobs/ingest"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _assertion(key_pem: bytes, claims: dict[str, Any]) -> str:
    return jwt.encode(claims, key_pem, algorithm="RS256")


@pytest.fixture
def jwt_emulator(clock: ManualClock) -> tuple[SalesforceEmulator, bytes]:
    key_pem, certificate = generate_jwt_key()
    return SalesforceEmulator(certificate=certificate, clock=clock), key_pem


def _claims(emulator: SalesforceEmulator, clock: ManualClock, **changes: Any) -> dict[str, Any]:
    return {
        "iss": emulator.client_id,
        "sub": emulator.username,
        "aud": emulator.audience,
        "exp": clock() + 120,
    } | changes


# -- OAuth ---------------------------------------------------------------------------------------------


def test_a_jwt_signed_with_the_apps_key_gets_a_session_and_the_instance_url(
    jwt_emulator: tuple[SalesforceEmulator, bytes], clock: ManualClock
) -> None:
    emulator, key_pem = jwt_emulator
    reply = _token(emulator, {"grant_type": JWT_GRANT, "assertion": _assertion(key_pem, _claims(emulator, clock))})
    assert reply.status_code == 200
    assert reply.json()["instance_url"].startswith("http://127.0.0.1:")
    assert "expires_in" not in reply.json(), "Salesforce gives no lifetime for these flows"


@pytest.mark.parametrize(
    ("changes", "error", "description"),
    [
        ({"iss": "3MVG9someone-else"}, "invalid_client_id", "client identifier invalid"),
        ({"aud": "https://test.salesforce.com"}, "invalid_grant", "audience is invalid"),
        ({"sub": "intruder@acme.example"}, "invalid_grant", "user hasn't approved this consumer"),
        ({"exp": -1}, "invalid_grant", "expired authorization code"),
        ({"exp": 10_000}, "invalid_grant", "exp is too far in the future"),
    ],
)
def test_a_jwt_with_wrong_claims_is_refused(
    jwt_emulator: tuple[SalesforceEmulator, bytes], clock: ManualClock, changes: dict[str, Any], error: str,
    description: str,
) -> None:  # fmt: skip
    emulator, key_pem = jwt_emulator
    claims = _claims(emulator, clock, **changes)
    if "exp" in changes:
        claims["exp"] = clock() + changes["exp"]
    reply = _token(emulator, {"grant_type": JWT_GRANT, "assertion": _assertion(key_pem, claims)})
    assert reply.status_code == 400
    assert reply.json()["error"] == error
    assert description in reply.json()["error_description"]


def test_a_jwt_signed_with_another_key_or_tampered_with_is_an_invalid_assertion(
    jwt_emulator: tuple[SalesforceEmulator, bytes], clock: ManualClock
) -> None:
    emulator, key_pem = jwt_emulator
    stranger, _ = generate_jwt_key()
    good = _assertion(key_pem, _claims(emulator, clock))
    head, _, signature = good.split(".")
    forged_body = _b64(json.dumps(_claims(emulator, clock, sub="admin@acme.example")).encode())
    for assertion in (_assertion(stranger, _claims(emulator, clock)), f"{head}.{forged_body}.{signature}", "a.b"):
        reply = _token(emulator, {"grant_type": JWT_GRANT, "assertion": assertion})
        assert reply.json() == {"error": "invalid_grant", "error_description": "invalid assertion"}


def test_client_credentials_need_the_right_secret_and_other_grants_are_refused(emulator: SalesforceEmulator) -> None:
    wrong = {"grant_type": "client_credentials", "client_id": emulator.client_id, "client_secret": "guess"}
    assert _token(emulator, wrong).json()["error"] == "invalid_client"
    assert _token(emulator, {"grant_type": "password"}).json()["error"] == "unsupported_grant_type"


def test_a_missing_or_expired_session_is_invalid_session_id(
    api: SalesforceApiClient, emulator: SalesforceEmulator, clock: ManualClock
) -> None:
    assert api.query("SELECT Id FROM User").status_code == 200
    clock.advance(emulator.limits.session_seconds + 1)
    expired = api.query("SELECT Id FROM User")
    assert expired.status_code == 401
    assert expired.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    assert api.http.get(f"{DATA}/limits").status_code == 401


# -- the API request limit ----------------------------------------------------------------------------


def test_the_daily_request_limit_refuses_calls_until_they_age_out_of_24_hours(clock: ManualClock) -> None:
    limited = SalesforceEmulator(clock=clock, limits=SalesforceLimits(daily_api_requests=3))
    with serve(limited.app) as server, httpx.Client(base_url=server.url) as http:
        api = SalesforceApiClient(http, limited)
        usage = [api.query("SELECT Id FROM User").headers["sforce-limit-info"] for _ in range(3)]
        refused = api.query("SELECT Id FROM User")
        clock.advance(86_401)
        again = SalesforceApiClient(http, limited).query("SELECT Id FROM User")  # the old session has ended too
    assert usage == ["api-usage=1/3", "api-usage=2/3", "api-usage=3/3"]
    assert refused.status_code == 403
    assert refused.json() == [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    assert again.status_code == 200


# -- sObject Collections upsert -----------------------------------------------------------------------


def test_an_upsert_creates_then_updates_the_same_record_by_external_id(
    api: SalesforceApiClient, emulator: SalesforceEmulator
) -> None:
    first = api.upsert([attendance("E1|2025-10-06|day", Worked_Minutes__c=540)]).json()
    second = api.upsert([attendance("E1|2025-10-06|day", Worked_Minutes__c=600)]).json()
    same = api.upsert([attendance("E1|2025-10-06|day", Worked_Minutes__c=600)]).json()
    assert first[0]["created"] is True and second[0]["created"] is False
    assert first[0]["id"] == second[0]["id"] == same[0]["id"]
    assert len(emulator.records()) == 1
    assert emulator.record("E1|2025-10-06|day")["Worked_Minutes__c"] == 600  # type: ignore[index]
    assert emulator.rows_written == 3
    assert emulator.deliveries == 2, "a write that changes nothing is not a delivery"


def test_more_than_200_records_in_one_call_is_refused_whole(
    api: SalesforceApiClient, emulator: SalesforceEmulator
) -> None:
    reply = api.upsert([attendance(f"E{n}|2025-10-06|day") for n in range(201)])
    assert reply.status_code == 400
    assert reply.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    assert emulator.records() == []
    assert api.upsert([attendance(f"E{n}|2025-10-06|day") for n in range(200)]).status_code == 200


@pytest.mark.parametrize(
    ("record", "code", "fields"),
    [
        (attendance("K", Shoe_Size__c=42), "INVALID_FIELD", ["Shoe_Size__c"]),
        (
            attendance("K", LastModifiedDate="2025-10-06T00:00:00Z"),
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            ["LastModifiedDate"],
        ),
        ({"Employee_Id__c": "T-1", "Work_Date__c": "2025-10-06"}, "MISSING_ARGUMENT", ["Punchbridge_Key__c"]),
        ({"Punchbridge_Key__c": "K", "Employee_Id__c": "T-1"}, "REQUIRED_FIELD_MISSING", ["Work_Date__c"]),
        (attendance("K", Status__c="x" * 41), "STRING_TOO_LONG", ["Status__c"]),
    ],
)
def test_each_record_is_judged_alone_and_a_refused_one_does_not_stop_the_others(
    api: SalesforceApiClient, emulator: SalesforceEmulator, record: dict[str, Any], code: str, fields: list[str]
) -> None:
    reply = api.upsert([attendance("GOOD"), record])
    assert reply.status_code == 200
    good, bad = reply.json()
    assert good["success"] is True
    assert bad["success"] is False
    assert bad["errors"][0]["statusCode"] == code
    assert bad["errors"][0]["fields"] == fields
    assert [r["Punchbridge_Key__c"] for r in emulator.records()] == ["GOOD"]


def test_the_same_external_id_twice_in_one_call_fails_every_copy(
    api: SalesforceApiClient, emulator: SalesforceEmulator
) -> None:
    results = api.upsert([attendance("TWICE"), attendance("OTHER"), attendance("TWICE", Status__c="late")]).json()
    assert [r["success"] for r in results] == [False, True, False]
    assert results[0]["errors"][0]["statusCode"] == "DUPLICATE_EXTERNAL_ID"
    assert emulator.record("TWICE") is None


def test_a_required_field_cannot_be_cleared_on_update(api: SalesforceApiClient) -> None:
    api.upsert([attendance("K")])
    result = api.upsert([{"Punchbridge_Key__c": "K", "Employee_Id__c": None}]).json()[0]
    assert result["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"


@pytest.mark.parametrize(
    "value", [{"Work_Date__c": "06/10/2025"}, {"Worked_Minutes__c": "lots"}, {"Recomputed__c": "Y"}, {"First_In__c": 9}]
)
def test_a_value_json_cannot_give_its_field_type_fails_the_whole_call(
    api: SalesforceApiClient, emulator: SalesforceEmulator, value: dict[str, Any]
) -> None:
    reply = api.upsert([attendance("GOOD"), attendance("BAD", **value)])
    assert reply.status_code == 400
    assert reply.json()[0]["errorCode"] == "JSON_PARSER_ERROR"
    assert emulator.records() == []


def test_the_url_must_name_an_external_id_field_and_a_known_object(api: SalesforceApiClient) -> None:
    by_name = api.request("PATCH", f"{DATA}/composite/sobjects/Attendance_Day__c/Employee_Id__c", json={"records": []})
    assert by_name.status_code == 400 and by_name.json()[0]["errorCode"] == "INVALID_FIELD"
    unknown = api.request("PATCH", f"{DATA}/composite/sobjects/Timecard__c/Key__c", json={"records": []})
    assert unknown.status_code == 404 and unknown.json()[0]["errorCode"] == "NOT_FOUND"


def test_all_or_none_rolls_back_the_good_records_too(api: SalesforceApiClient, emulator: SalesforceEmulator) -> None:
    results = api.upsert([attendance("GOOD"), attendance("BAD", Status__c="x" * 99)], allOrNone=True).json()
    assert [r["success"] for r in results] == [False, False]
    assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert emulator.records() == []


def test_a_refused_employee_gets_a_custom_validation_error(
    api: SalesforceApiClient, emulator: SalesforceEmulator
) -> None:
    emulator.refuse_employee("T-2", "Attendance of T-2 is locked")
    results = api.upsert([attendance("A", employee="T-1"), attendance("B", employee="T-2")]).json()
    assert results[0]["success"] is True
    assert results[1]["errors"][0] == {
        "statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        "message": "Attendance of T-2 is locked",
        "fields": [],
    }


# -- SOQL ----------------------------------------------------------------------------------------------


def test_a_query_pages_by_batch_size_through_next_records_url(
    api: SalesforceApiClient, emulator: SalesforceEmulator
) -> None:
    for start in range(0, 450, 150):
        api.upsert([attendance(f"K{n:03d}") for n in range(start, start + 150)])
    first = api.query(
        "SELECT Id, Punchbridge_Key__c FROM Attendance_Day__c", headers={"Sforce-Query-Options": "batchSize=200"}
    )
    page = first.json()
    keys = [r["Punchbridge_Key__c"] for r in page["records"]]
    while not page["done"]:
        page = api.request("GET", page["nextRecordsUrl"]).json()
        keys += [r["Punchbridge_Key__c"] for r in page["records"]]
    assert first.json()["totalSize"] == 450 and len(first.json()["records"]) == 200
    assert sorted(keys) == [f"K{n:03d}" for n in range(450)]


def test_a_query_filters_with_unquoted_dates_escaped_text_in_lists_and_limit(api: SalesforceApiClient) -> None:
    api.upsert([attendance("A", employee="O'Neil", day="2025-10-06"), attendance("B", employee="T-2", day="2025-10-07"),
                attendance("C", employee="T-3", day="2025-10-09")])  # fmt: skip
    soql = (
        "SELECT Punchbridge_Key__c FROM Attendance_Day__c WHERE Work_Date__c >= 2025-10-06 AND "
        "Work_Date__c <= 2025-10-08 AND Employee_Id__c IN ('O\\'Neil', 't-2') ORDER BY Punchbridge_Key__c DESC LIMIT 5"
    )
    assert [r["Punchbridge_Key__c"] for r in api.query(soql).json()["records"]] == ["B", "A"]


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        ("SELECT Id FROM Attendance_Day__c WHERE Work_Date__c = '2025-10-06'", "INVALID_QUERY_FILTER_OPERATOR"),
        ("SELECT Id FROM Attendance_Day__c WHERE Employee_Id__c = T1", "INVALID_QUERY_FILTER_OPERATOR"),
        ("SELECT Shoe_Size__c FROM Attendance_Day__c", "INVALID_FIELD"),
        ("SELECT Id FROM Timecard__c", "INVALID_TYPE"),
        ("SELECT Id FROM Attendance_Day__c WHERE", "MALFORMED_QUERY"),
        ("DELETE FROM Attendance_Day__c", "MALFORMED_QUERY"),
    ],
)
def test_a_query_salesforce_would_refuse_is_a_400(api: SalesforceApiClient, soql: str, code: str) -> None:
    reply = api.query(soql)
    assert reply.status_code == 400
    assert reply.json()[0]["errorCode"] == code


def test_describe_names_the_fields_and_which_is_the_external_id(api: SalesforceApiClient) -> None:
    fields = {f["name"]: f for f in api.request("GET", f"{DATA}/sobjects/Attendance_Day__c/describe").json()["fields"]}
    assert fields["Punchbridge_Key__c"]["externalId"] is True
    assert fields["Work_Date__c"]["type"] == "date" and fields["Work_Date__c"]["nillable"] is False
    assert fields["LastModifiedDate"]["updateable"] is False
    assert api.request("GET", f"{DATA}/sobjects/Nope__c/describe").status_code == 404


# -- Bulk API 2.0 ----------------------------------------------------------------------------------------


def _job(api: SalesforceApiClient, **changes: Any) -> dict[str, Any]:
    spec = {"object": "Attendance_Day__c", "externalIdFieldName": "Punchbridge_Key__c", "contentType": "CSV",
            "operation": "upsert", "lineEnding": "LF"} | changes  # fmt: skip
    reply = api.request("POST", JOBS, json=spec)
    assert reply.status_code == 200, reply.text
    return reply.json()


def _upload(api: SalesforceApiClient, job: str, text: str, content_type: str = "text/csv") -> httpx.Response:
    return api.request("PUT", f"{JOBS}/{job}/batches", content=text.encode(), headers={"Content-Type": content_type})


def _close(api: SalesforceApiClient, job: str) -> httpx.Response:
    return api.request("PATCH", f"{JOBS}/{job}", json={"state": "UploadComplete"})


def test_a_bulk_job_goes_open_upload_complete_in_progress_job_complete(
    api: SalesforceApiClient, emulator: SalesforceEmulator
) -> None:
    api.upsert([attendance("OLD", Last_Out__c="2025-10-06T12:00:00Z", Status__c="late")])
    job = _job(api)
    assert job["state"] == "Open"
    early = api.request("GET", f"{JOBS}/{job['id']}/successfulResults/")
    csv_text = (
        "Punchbridge_Key__c,Employee_Id__c,Work_Date__c,Status__c,Last_Out__c\n"
        "OLD,T-1,2025-10-06,,#N/A\n"
        'NEW,"T-2",2025-10-07,"present, on time",2025-10-07T12:30:00.000Z\n'
        "BAD,T-3,2025-13-45,present,#N/A\n"
    )
    assert _upload(api, job["id"], csv_text).status_code == 201
    assert _close(api, job["id"]).json()["state"] == "UploadComplete"
    states = [api.request("GET", f"{JOBS}/{job['id']}").json()["state"] for _ in range(3)]
    succeeded = api.request("GET", f"{JOBS}/{job['id']}/successfulResults/").text.splitlines()
    failed = api.request("GET", f"{JOBS}/{job['id']}/failedResults/").text.splitlines()
    assert early.status_code == 409, "results come when the job is done"
    assert states == ["InProgress", "JobComplete", "JobComplete"]
    assert succeeded[0].startswith('"sf__Id","sf__Created","Punchbridge_Key__c"')
    assert [line.split(",")[1] for line in succeeded[1:]] == ['"false"', '"true"']
    assert len(failed) == 2 and "INVALID_TYPE_ON_FIELD_IN_RECORD" in failed[1]
    old = emulator.record("OLD")
    assert old is not None and old["Last_Out__c"] is None, "#N/A clears a field"
    assert old["Status__c"] == "late", "an empty cell leaves a field as it is"
    assert emulator.record("NEW")["Status__c"] == "present, on time"  # type: ignore[index]


@pytest.mark.parametrize(
    ("csv_text", "error"),
    [
        ("Punchbridge_Key__c,Shoe_Size__c\nK,42\n", "InvalidBatch : Field name not found : Shoe_Size__c"),
        ("Punchbridge_Key__c,Employee_Id__c,Work_Date__c\r\nK,T-1,2025-10-06\r\n", "LineEnding is invalid"),
        ("", "No data uploaded"),
    ],
)
def test_a_bulk_job_with_bad_data_fails_whole(
    api: SalesforceApiClient, emulator: SalesforceEmulator, csv_text: str, error: str
) -> None:
    job = _job(api)
    if csv_text:
        _upload(api, job["id"], csv_text)
    _close(api, job["id"])
    for _ in range(2):
        status = api.request("GET", f"{JOBS}/{job['id']}").json()
    assert status["state"] == "Failed"
    assert error in status["errorMessage"]
    assert emulator.records() == []


def test_a_bulk_job_takes_one_csv_upload_while_open(api: SalesforceApiClient) -> None:
    job = _job(api)["id"]
    assert _upload(api, job, "Punchbridge_Key__c\n", content_type="application/json").status_code == 415
    assert _upload(api, job, "Punchbridge_Key__c,Employee_Id__c,Work_Date__c\nK,T-1,2025-10-06\n").status_code == 201
    assert _upload(api, job, "Punchbridge_Key__c\nK2\n").status_code == 409
    _close(api, job)
    assert api.request("PATCH", f"{JOBS}/{job}", json={"state": "UploadComplete"}).status_code == 400


@pytest.mark.parametrize(
    "changes",
    [
        {"operation": "hardDelete"},
        {"externalIdFieldName": "Employee_Id__c"},
        {"object": "Nope__c"},
        {"lineEnding": "CR"},
    ],
)
def test_a_bulk_job_salesforce_would_not_create_is_refused(api: SalesforceApiClient, changes: dict[str, Any]) -> None:
    spec = {"object": "Attendance_Day__c", "externalIdFieldName": "Punchbridge_Key__c", "operation": "upsert"} | changes
    reply = api.request("POST", JOBS, json=spec)
    assert reply.status_code == 400
    assert reply.json()[0]["errorCode"] == "INVALIDJOB"


def _token(emulator: SalesforceEmulator, form: dict[str, str]) -> httpx.Response:
    with serve(emulator.app) as server, httpx.Client(base_url=server.url) as http:
        return http.post("/services/oauth2/token", data=form)
