"""The SuccessFactors emulator refuses what SuccessFactors refuses: a plugin that ignored a rule fails here."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from support.sap_builders import SapApi, event, minutes_after, time_data

from punchbridge.plugin_api import Employee
from punchbridge.testing.emulators.sap import (
    DUPLICATE,
    LGN_EXPIRED_TOKEN,
    LGN_INVALID_ASSERTION,
    LGN_INVALID_TOKEN,
    TIME_EVENTS_PATH,
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


def test_a_bearer_token_write_needs_no_csrf_token_by_default(api: SapApi, emulator: SapEmulator) -> None:
    # SuccessFactors documents no CSRF rule for writes with a bearer token, and client code upserts
    # ExternalTimeData without one (a published terminal uploader): the emulator's default.
    assert api.upsert([time_data()], csrf=False).status_code == 200
    assert set(emulator.time_data()) == {"PB-T-1-20251006-day"}


def test_a_write_without_the_csrf_token_is_refused_when_required(api: SapApi, emulator: SapEmulator) -> None:
    emulator.csrf_required = True
    reply = api.upsert([time_data()], csrf=False)
    assert reply.status_code == 403 and reply.headers["x-csrf-token"] == "Required"
    assert "CSRF token validation failed" in reply.text
    assert api.post_events([event(1)]).status_code == 403, "the Time Events API too"
    assert emulator.time_data() == {} and emulator.events() == {}


def test_a_csrf_token_without_its_session_cookie_is_refused(api: SapApi, emulator: SapEmulator) -> None:
    emulator.csrf_required = True
    token = api.fetch_csrf()
    api.client.cookies.clear()
    reply = api.upsert([time_data()])
    assert reply.status_code == 403
    assert token


def test_an_ended_session_refuses_its_csrf_token(api: SapApi, emulator: SapEmulator) -> None:
    emulator.csrf_required = True
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
    assert api.get("EmpJob", **{"$search": "Asha"}).status_code == 400


def test_top_limits_the_rows(api: SapApi) -> None:
    assert len(api.get("EmpJob", **{"$top": "1"}).json()["d"]["results"]) == 1


# -- ExternalTimeData values ----------------------------------------------------------------------------


def test_hours_are_held_at_the_decimal_scale(api: SapApi, emulator: SapEmulator) -> None:
    # `hours` is an Edm.Decimal (SAP Cloud SDK's generated ExternalTimeData of service SFOData); its scale
    # is unconfirmed (SapLimits.hours_scale, 2): more decimals are not kept.
    assert api.upsert([time_data(hours="8.333333")]).json()["d"][0]["status"] == "OK"
    (held,) = api.get("ExternalTimeData").json()["d"]["results"]
    assert held["hours"] == "8.33"


def test_edm_time_is_taken_padded_or_not(api: SapApi, emulator: SapEmulator) -> None:
    # A terminal uploader upserts ExternalTimeData with "PT" & h & "H" & m & "M" & s & "S", unpadded
    # (a published VB.NET terminal uploader); OData's Edm.Time is an xs:duration either way.
    reply = api.upsert([time_data(startTime="PT8H5M0S", endTime="PT17H0M0S")]).json()["d"]
    assert [r["status"] for r in reply] == ["OK"]
    assert api.upsert([time_data(code="b", startTime="PT25H0M0S")]).json()["d"][0]["status"] == "ERROR"


# -- the Time Events REST API ---------------------------------------------------------------------------


def test_time_events_answer_201_per_event_with_uuids_and_refuse_a_repeated_timestamp(
    api: SapApi, emulator: SapEmulator
) -> None:
    # SAP's ClockInClockOut.json on api.sap.com: HTTP 201, succeededTimeEvents [{UUID, id}] and
    # failedTimeEvents [{errorText, id}]; "A time event for this employee and timestamp already exists."
    reply = api.post_events([event(1), event(2, kind="P20", at="2025-10-06T18:00:00+0530")])
    assert reply.status_code == 201
    body = reply.json()
    assert [item["id"] for item in body["succeededTimeEvents"]] == ["1", "2"] and body["failedTimeEvents"] == []
    assert {item["UUID"] for item in body["succeededTimeEvents"]} == set(emulator.events())
    again = api.post_events([event(7, kind="P20"), event(8, at="2025-10-06T10:00:00+05:30")]).json()
    assert again["failedTimeEvents"] == [{"errorText": DUPLICATE, "id": "7"}], "same employee and instant, any type"
    assert [item["id"] for item in again["succeededTimeEvents"]] == ["8"]
    assert len(emulator.events()) == 3


def test_the_same_instant_in_another_offset_is_the_same_timestamp(api: SapApi, emulator: SapEmulator) -> None:
    api.post_events([event(1, at="2025-10-06T09:00:00+05:30")])
    reply = api.post_events([event(1, at="2025-10-06T03:30:00Z")]).json()
    assert reply["failedTimeEvents"] == [{"errorText": DUPLICATE, "id": "1"}]


def test_more_than_1000_events_or_200_of_one_user_are_refused_whole(api: SapApi, emulator: SapEmulator) -> None:
    # SAP KBA 3216279: "A maximum of 1000 time events can be sent with one API call in bulk mode. The
    # number of time events that can be sent for a single user is limited to 200" (KBA 3364562).
    start = "2025-10-06T00:00:00+05:30"
    users = [f"U{n}" for n in range(6)]
    emulator.seed_employees([Employee(user, user) for user in users])
    many = [event(f"{u}x{n}", user, at=minutes_after(start, n)) for u, user in enumerate(users) for n in range(167)]
    reply = api.post_events(many[:1001])
    assert reply.status_code == 400 and "A maximum of 1000 time events" in reply.json()["errors"][0]
    crowded = [event(n, at=minutes_after(start, n)) for n in range(201)]
    reply = api.post_events(crowded)
    assert reply.status_code == 400 and reply.json()["message"] == "Request Validation Error"
    assert "for a user in a request should not be greater than 200" in reply.json()["errors"][0]
    assert emulator.events() == {}
    assert api.post_events(crowded[:200]).status_code == 201
    assert api.post_events(many[:1000]).status_code == 201
    assert len(emulator.events()) == 1200


@pytest.mark.parametrize(
    ("item", "error"),
    [
        (event("", user="T-1"), "The id must not be blank."),
        (event("a" * 37), "The id"),
        (event(1, kind="P 10"), "The typeCode"),
        (event(1, at="2025-10-06T09:00:00"), "with offset"),
        (event(1, at="2025-10-06T09:00:00.250+05:30"), "with offset"),
        (event(1, terminalId="T" * 31), "terminalId must be 1 to 30"),
        (event(1, shoeSize=42), "Unknown property shoeSize"),
    ],
)
def test_a_body_that_breaks_the_schema_is_refused_whole(
    api: SapApi, emulator: SapEmulator, item: dict, error: str
) -> None:
    # The specification's error response: 400 {"status": "BAD_REQUEST", "message": "Request Validation
    # Error", "errors": ["The id must not be blank."]} (ClockInClockOut.json).
    reply = api.post_events([event(9, at="2025-10-06T07:00:00+05:30"), item])
    assert reply.status_code == 400
    assert reply.json()["status"] == "BAD_REQUEST" and any(error in text for text in reply.json()["errors"])
    assert emulator.events() == {}


def test_ids_must_be_unique_in_a_call(api: SapApi) -> None:
    reply = api.post_events([event(1), event(1, at="2025-10-06T10:00:00+05:30")])
    assert reply.status_code == 400 and "used more than once" in reply.json()["errors"][0]


def test_an_unknown_or_refused_employee_or_type_fails_alone(api: SapApi, emulator: SapEmulator) -> None:
    emulator.refuse_user("T-2", "The employee has no time recording profile")
    body = api.post_events(
        [event(1), event(2, user="T-99"), event(3, user="T-2"), event(4, kind="X99", at="2025-10-06T11:00:00Z")]
    ).json()
    assert [item["id"] for item in body["succeededTimeEvents"]] == ["1"]
    failures = {item["id"]: item["errorText"] for item in body["failedTimeEvents"]}
    assert "T-99" in failures["2"] and failures["3"] == "The employee has no time recording profile"
    assert "X99" in failures["4"]


def test_time_events_are_read_back_as_an_odata_entity(api: SapApi, emulator: SapEmulator) -> None:
    api.post_events([event(1, terminalId="GATE-1")])
    (row,) = api.get("TimeEvent", **{"$filter": "assignmentId eq 'T-1'"}).json()["d"]["results"]
    assert (row["assignmentId"], row["typeCode"], row["terminalId"]) == ("T-1", "P10", "GATE-1")
    assert row["timestamp"] == "/Date(1759721400000+0000)/" and row["UUID"] in emulator.events()


def test_the_time_events_api_takes_post_only_and_only_from_its_bound_user(api: SapApi, emulator: SapEmulator) -> None:
    assert api.client.get(TIME_EVENTS_PATH, headers=api.headers()).status_code == 405
    # SAP KBA 3146142: the OAuth client for terminal time events is bound to a technical user.
    emulator.time_event_user = "TECHNICAL_USER_CICOTERMINAL_9D3F8AC1"
    assert api.post_events([event(1)]).status_code == 403
    bound = api.mint(api.assertion(user_id="TECHNICAL_USER_CICOTERMINAL_9D3F8AC1")).json()["access_token"]
    assert api.post_events([event(1)], token=bound).status_code == 201
