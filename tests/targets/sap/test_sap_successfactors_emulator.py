"""The SuccessFactors emulator refuses what SuccessFactors refuses: a plugin that ignored a rule fails here."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from support.sap_builders import SapApi, event, time_data

from punchbridge.plugin_api import Employee
from punchbridge.testing.emulators.sap import (
    LGN_EXPIRED_TOKEN,
    LGN_INVALID_ASSERTION,
    LGN_INVALID_TOKEN,
    ManualClock,
    SapEmulator,
    TestCredentials,
)


def _error(reply: object) -> tuple[str, str]:
    body = reply.json()["error"]  # type: ignore[attr-defined]
    assert set(body["message"]) == {"lang", "value"}, "an OData error object"
    return body["code"], body["message"]["value"]


# -- the SAML-bearer token flow -------------------------------------------------------------------------


def test_a_signed_assertion_buys_a_bearer_token(api: SapApi) -> None:
    reply = api.mint()
    assert reply.status_code == 200
    assert reply.json()["token_type"] == "Bearer" and reply.json()["expires_in"] == 86_400


@pytest.mark.parametrize(
    ("form", "reason"),
    [
        ({"company_id": "OTHERCO"}, "company"),
        ({"client_id": "not-a-client"}, "client_id"),
        ({"assertion": "not base64 !"}, "not base64"),
    ],
)
def test_a_wrong_company_or_client_is_an_lgn_error(api: SapApi, form: dict[str, str], reason: str) -> None:
    reply = api.mint(**form)
    assert reply.status_code == 401
    code, message = _error(reply)
    assert code == LGN_INVALID_ASSERTION and reason in message


def test_an_unknown_grant_type_is_refused(api: SapApi) -> None:
    assert api.mint(grant_type="client_credentials").status_code == 400


def test_a_tampered_assertion_is_refused(api: SapApi) -> None:
    forged = api.assertion().replace(b"sfapi", b"admin")
    reply = api.mint(forged)
    assert reply.status_code == 401
    assert "changed after it was signed" in _error(reply)[1]


def test_an_assertion_signed_by_another_key_is_refused(api: SapApi, stranger: TestCredentials) -> None:
    reply = api.mint(api.assertion(stranger))
    assert reply.status_code == 401 and "registered certificate" in _error(reply)[1]


def test_an_expired_assertion_is_refused(api: SapApi, clock: ManualClock) -> None:
    old = api.assertion()
    clock.advance(11 * 60 + 61)
    reply = api.mint(old)
    assert reply.status_code == 401 and "expired" in _error(reply)[1]


@pytest.mark.parametrize(
    ("claim", "value", "reason"),
    [
        ("audience", "www.example.com", "audience"),
        ("issuer", "someone.else", "issuer"),
        ("user_id", "admin", "not allowed"),
        ("recipient", "https://elsewhere.example/oauth/token", "recipient"),
        ("lifetime", timedelta(hours=5), "valid for more than"),
    ],
)
def test_a_wrong_claim_is_refused(api: SapApi, claim: str, value: object, reason: str) -> None:
    reply = api.mint(api.assertion(**{claim: value}))
    assert reply.status_code == 401 and reason in _error(reply)[1]


def test_a_missing_or_unknown_bearer_token_is_refused(api: SapApi) -> None:
    for headers in ({}, {"Authorization": "Bearer made-up"}):
        reply = api.client.get("/odata/v2/EmpJob", headers=headers)
        assert reply.status_code == 401 and _error(reply)[0] == LGN_INVALID_TOKEN


def test_a_bearer_token_expires(api: SapApi, clock: ManualClock) -> None:
    assert api.get("EmpJob").status_code == 200
    clock.advance(86_400)
    reply = api.get("EmpJob")
    assert reply.status_code == 401 and _error(reply)[0] == LGN_EXPIRED_TOKEN


# -- the CSRF session -----------------------------------------------------------------------------------


def test_a_write_without_the_csrf_token_is_refused(api: SapApi, emulator: SapEmulator) -> None:
    reply = api.upsert([time_data()], csrf=False)
    assert reply.status_code == 403 and reply.headers["x-csrf-token"] == "Required"
    assert "CSRF token validation failed" in reply.text
    assert emulator.time_data() == {}


def test_a_csrf_token_without_its_session_cookie_is_refused(api: SapApi) -> None:
    token = api.fetch_csrf()
    api.client.cookies.clear()
    reply = api.upsert([time_data()])
    assert reply.status_code == 403
    assert token


def test_an_ended_session_refuses_its_csrf_token(api: SapApi, emulator: SapEmulator) -> None:
    assert api.upsert([time_data()]).status_code == 200
    emulator.end_sessions()
    assert api.upsert([time_data(code="PB-T-1-20251007-day")]).status_code == 403
    api.fetch_csrf()
    assert api.upsert([time_data(code="PB-T-1-20251007-day")]).status_code == 200


# -- the upsert -----------------------------------------------------------------------------------------


def test_more_records_than_a_call_takes_are_refused_whole(api: SapApi, emulator: SapEmulator) -> None:
    records = [time_data(code=f"PB-{n}") for n in range(1001)]
    reply = api.upsert(records)
    assert reply.status_code == 400
    assert _error(reply) == ("COE_GENERAL_BAD_REQUEST", "Too many records in one upsert: 1001 > 1000")
    assert emulator.time_data() == {}
    assert api.upsert(records[:1000]).status_code == 200


def test_more_than_200_events_of_one_user_in_a_call_are_refused_whole(api: SapApi, emulator: SapEmulator) -> None:
    many = [event(f"E-{n}", ms=1_759_721_400_000 + n * 60_000) for n in range(201)]
    reply = api.upsert(many)
    assert reply.status_code == 400 and "Too many time events for user T-1" in _error(reply)[1]
    others = [event(f"F-{n}", user="T-2", ms=1_759_721_400_000 + n * 60_000) for n in range(200)]
    assert api.upsert(many[:200] + others).status_code == 200
    assert len(emulator.events()) == 400


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"externalCode": "X" * 129}, "at most 128"),
        ({"externalCode": None}, "externalCode is required"),
        ({"timeType": None}, "timeType is required"),
        ({"startDate": "2025-10-06"}, "not a /Date(ms)/"),
        ({"startDate": "/Date(1759743000000)/"}, "not a midnight"),
        ({"endDate": "/Date(1759968000000)/"}, "endDate must be startDate or the day after"),
        ({"startTime": "09:00"}, "not an Edm.Time"),
        ({"hours": None, "startTime": None}, "hours or startTime is required"),
        ({"hours": "many"}, "not a decimal"),
        ({"userId": "T-99"}, "not a known user"),
        ({"shoeSize": 42}, "Invalid property names: shoeSize"),
    ],
)
def test_a_bad_record_is_refused_alone(api: SapApi, emulator: SapEmulator, fields: dict, message: str) -> None:
    reply = api.upsert([time_data(code="PB-good"), time_data(**{"externalCode": "PB-bad", **fields})])
    assert reply.status_code == 200
    good, bad = reply.json()["d"]
    assert good["status"] == "OK" and good["index"] == 0
    assert bad["status"] == "ERROR" and bad["index"] == 1 and message in bad["message"]
    assert set(emulator.time_data()) == {"PB-good"}


def test_an_upsert_with_the_same_key_changes_the_record_instead_of_adding_one(
    api: SapApi, emulator: SapEmulator
) -> None:
    api.upsert([time_data()])
    api.upsert([time_data()])
    assert emulator.deliveries == 1, "the same record again changes nothing"
    api.upsert([time_data(hours="9.00")])
    assert emulator.deliveries == 2
    assert [row["hours"] for row in emulator.time_data().values()] == ["9.00"]


def test_a_refused_user_gets_errors_with_the_message(api: SapApi, emulator: SapEmulator) -> None:
    emulator.refuse_user("T-2", "Period is locked")
    d = api.upsert([time_data(code="a"), time_data(code="b", user="T-2")]).json()["d"]
    assert [r["status"] for r in d] == ["OK", "ERROR"] and d[1]["message"] == "Period is locked"


def test_throttling_answers_429_with_retry_after(api: SapApi, emulator: SapEmulator) -> None:
    emulator.throttle_next("upsert", retry_after=42)
    reply = api.upsert([time_data()])
    assert reply.status_code == 429 and reply.headers["retry-after"] == "42"
    assert api.upsert([time_data()]).status_code == 200


# -- reads ----------------------------------------------------------------------------------------------


def test_empjob_pages_at_most_1000_rows_with_skiptoken_links(api: SapApi, emulator: SapEmulator) -> None:
    emulator.seed_employees([Employee(f"U{n:05d}", f"Person {n}") for n in range(2500)], replace=True)
    assert api.get("EmpJob", customPageSize="1001").status_code == 400
    seen, url, pages = [], "/odata/v2/EmpJob?$format=json&$orderby=userId", 0
    while url:
        body = api.client.get(url, headers=api.headers()).json()["d"]
        pages += 1
        seen += [row["userId"] for row in body["results"]]
        assert len(body["results"]) <= 1000
        url = body.get("__next")
        assert url is None or "$skiptoken=" in url.replace("%24", "$")
    assert pages == 3 and len(seen) == len(set(seen)) == 2500


def test_a_skiptoken_only_works_for_its_own_query(api: SapApi, emulator: SapEmulator) -> None:
    emulator.seed_employees([Employee(f"U{n:03d}", f"Person {n}") for n in range(30)], replace=True)
    following = api.get("EmpJob", customPageSize="10").json()["d"]["__next"]
    token = following.split("skiptoken=")[1]
    reply = api.get("EmpJob", customPageSize="20", **{"$skiptoken": token})
    assert reply.status_code == 400 and _error(reply)[0] == "COE_INVALID_SKIPTOKEN"


def test_empjob_is_effective_dated(api: SapApi, emulator: SapEmulator, clock: ManualClock) -> None:
    emulator.add_job("T-1", date(2025, 1, 1), costCenter="CC-NEW")
    today = api.get("EmpJob", **{"$filter": "userId eq 'T-1'"}).json()["d"]["results"]
    history = api.get("EmpJob", fromDate="1900-01-01", **{"$filter": "userId eq 'T-1'"}).json()["d"]["results"]
    assert [row["costCenter"] for row in today] == ["CC-NEW"]
    assert [row["costCenter"] for row in history] == ["CC-OPS", "CC-NEW"]


def test_expanded_navigation_answers_only_selected_fields(api: SapApi) -> None:
    params = {"$select": "userId,userNav/email,emplStatusNav/externalCode", "$expand": "userNav,emplStatusNav"}
    rows = api.get("EmpJob", **params, **{"$filter": "userId in 'T-1','T-4'"}).json()["d"]["results"]
    assert [(r["userId"], r["userNav"], r["emplStatusNav"]) for r in rows] == [
        ("T-1", {"email": "asha@example.com"}, {"externalCode": "A"}),
        ("T-4", {"email": "dana@example.com"}, {"externalCode": "T"}),
    ]
    assert api.get("EmpJob", **{"$select": "userNav/email"}).status_code == 400, "userNav needs $expand"


def test_time_data_can_be_filtered_by_dates(api: SapApi) -> None:
    api.upsert([time_data(code="a"), time_data(code="b", startDate="/Date(1759881600000)/")])  # 6 and 8 October
    window = "startDate ge datetime'2025-10-07T00:00:00' and startDate le datetime'2025-10-31T00:00:00'"
    rows = api.get("ExternalTimeData", **{"$filter": window}).json()["d"]["results"]
    assert [row["externalCode"] for row in rows] == ["b"]


@pytest.mark.parametrize("expression", ["startDate ge", "userId eq 'a' or userId eq 'b'", "substringof('a',userId)"])
def test_a_filter_the_emulator_cannot_read_is_refused(api: SapApi, expression: str) -> None:
    reply = api.get("ExternalTimeData", **{"$filter": expression})
    assert reply.status_code == 400 and _error(reply)[0] == "COE_INVALID_FILTER"


def test_an_unknown_entity_or_option_is_an_odata_error(api: SapApi) -> None:
    assert _error(api.get("PerPayroll"))[0] == "COE_RESOURCE_NOT_FOUND"
    assert api.get("EmpJob", **{"$top": "5"}).status_code == 400
