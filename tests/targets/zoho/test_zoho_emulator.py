"""The Zoho People emulator refuses what Zoho refuses: each documented rule and limit has its test here.

These tests speak plain HTTP to the emulator (no plugin), so a rule the emulator let slip would show
here before it could hide a plugin bug. They read bulkImport's per-row results, so the emulator
answers in its `rows` shape here; test_zoho_emulator_replies.py covers the shapes Zoho is seen to use.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from support.zoho_builders import ZohoApi

from punchbridge.plugin_api import Employee
from punchbridge.testing.emulators.zoho import (
    DAILY_LIMIT_CODE,
    INVALID_OAUTHTOKEN_CODE,
    NO_RECORDS_CODE,
    THROTTLE_CODE,
    JavaDateFormat,
    ManualClock,
    NoDelayHttp,
    ZohoEmulator,
    ZohoLimits,
)
from punchbridge.testing.http import serve

IN = {"empId": "T-1", "checkIn": "2025-10-06 09:00:00"}
OUT = {"empId": "T-1", "checkOut": "2025-10-06 18:00:00"}


@pytest.fixture
def bulk_reply() -> str:
    """Per-row results, which these tests read."""
    return "rows"


def _error(reply: Any) -> tuple[int, str]:
    body = reply.json()["response"]
    assert body["status"] == 1
    return body["errors"]["code"], body["errors"]["message"]


def _rows(reply: Any) -> list[dict[str, Any]]:
    body = reply.json()["response"]
    assert reply.status_code == 200 and body["status"] == 0
    return body["result"]


# -- OAuth ---------------------------------------------------------------------------------------------


def test_token_reply_has_an_hour_long_token_and_the_api_domain(api: ZohoApi) -> None:
    reply = api.mint().json()
    assert reply["expires_in"] == 3600
    assert reply["access_token"].startswith("1000.")
    assert reply["api_domain"] == str(api.client.base_url).rstrip("/")


def test_wrong_client_secret_or_unknown_client_is_invalid_client(api: ZohoApi) -> None:
    assert api.mint(client_secret="not-the-secret").json() == {"error": "invalid_client"}
    assert api.mint(client_id="1000.SOMEONEELSE").json() == {"error": "invalid_client"}


def test_unknown_refresh_token_is_invalid_code(api: ZohoApi) -> None:
    assert api.mint(refresh_token="1000.revoked").json() == {"error": "invalid_code"}


def test_only_the_refresh_token_grant_is_served(api: ZohoApi) -> None:
    reply = api.mint(grant_type="client_credentials")
    assert reply.status_code == 400 and reply.json()["error"] == "unsupported_grant_type"


def test_eleventh_token_within_ten_minutes_is_denied_then_allowed_again(api: ZohoApi, clock: ManualClock) -> None:
    for _ in range(10):
        assert "access_token" in api.mint().json()
        clock.advance(30)
    denied = api.mint()
    assert denied.status_code == 400
    assert denied.json()["error"] == "Access Denied"
    assert "too many requests continuously" in denied.json()["error_description"]
    clock.advance(301)  # the first mint is now more than 10 minutes old
    assert "access_token" in api.mint().json()
    assert api.emulator.tokens_minted == 11


@pytest.mark.parametrize("header", [None, "Bearer {token}", "Zoho-oauthtoken 1000.made-up"])
def test_calls_without_a_valid_zoho_oauthtoken_header_are_refused_with_7202(api: ZohoApi, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header.format(token=api.token)}
    reply = api.client.get("/people/api/forms/employee/getRecords", headers=headers)
    assert reply.status_code == 401
    assert _error(reply)[0] == INVALID_OAUTHTOKEN_CODE


def test_a_token_expires_after_an_hour(api: ZohoApi, clock: ManualClock) -> None:
    assert api.records().status_code == 200
    clock.advance(3601)
    assert _error(api.records())[0] == INVALID_OAUTHTOKEN_CODE


# -- bulkImport ------------------------------------------------------------------------------------------


def test_bulk_import_stores_punches_and_reports_one_result_per_row(api: ZohoApi) -> None:
    rows = _rows(api.bulk([IN, OUT]))
    assert [r["status"] for r in rows] == ["success", "success"]
    view = api.emulator.day("T-1", date(2025, 10, 6))
    assert view is not None and view.first_in == datetime(2025, 10, 6, 9) and view.last_out == datetime(2025, 10, 6, 18)
    assert api.emulator.deliveries == 1


def test_bulk_import_refuses_more_than_200_rows_and_stores_none(api: ZohoApi) -> None:
    rows = [{"empId": "T-1", "checkIn": f"2025-10-06 09:{m % 60:02d}:{m // 60:02d}"} for m in range(201)]
    code, message = _error(api.bulk(rows))
    assert code == 7016 and "at most 200" in message
    assert api.emulator.days() == {}


def test_a_row_with_both_check_in_and_check_out_fails_alone(api: ZohoApi) -> None:
    both = {"empId": "T-2", "checkIn": "2025-10-06 09:00:00", "checkOut": "2025-10-06 18:00:00"}
    rows = _rows(api.bulk([both, IN]))
    assert rows[0]["status"] == "failure" and "not both" in rows[0]["message"]
    assert rows[1]["status"] == "success"
    assert api.emulator.day("T-2", date(2025, 10, 6)) is None


def test_a_row_needs_an_identifier_and_a_punch(api: ZohoApi) -> None:
    rows = _rows(api.bulk([{"checkIn": "2025-10-06 09:00:00"}, {"empId": "T-1"}]))
    assert [(r["status"], r["code"]) for r in rows] == [("failure", 7019), ("failure", 7019)]


def test_unknown_employee_fails_its_row_and_the_rest_lands(api: ZohoApi) -> None:
    rows = _rows(api.bulk([{"empId": "T-99", "checkIn": "2025-10-06 09:00:00"}, IN]))
    assert rows[0] == {"index": 0, "status": "failure", "code": 7048, "message": "No such employee: empId T-99"}
    assert rows[1]["status"] == "success"
    assert set(api.emulator.days()) == {("T-1", date(2025, 10, 6))}


def test_unknown_row_fields_are_refused(api: ZohoApi) -> None:
    rows = _rows(api.bulk([{**IN, "shift": "night"}]))
    assert rows[0]["code"] == 7020 and "shift" in rows[0]["message"]


@pytest.mark.parametrize(
    "text", ["2025-10-06T09:00:00", "06/10/2025 09:00:00", "2025-10-06 9:00:00", "2025-02-30 09:00:00", "2025-10-06"]
)
def test_times_are_parsed_strictly_with_the_date_format(api: ZohoApi, text: str) -> None:
    rows = _rows(api.bulk([{"empId": "T-1", "checkIn": text}]))
    assert rows[0]["status"] == "failure" and rows[0]["code"] == 7055


def test_without_date_format_the_organisation_format_applies(api: ZohoApi) -> None:
    rows = _rows(api.bulk([{"empId": "T-1", "checkIn": "06/10/2025 09:00:00"}], date_format=None))
    assert rows[0]["status"] == "success"
    rows = _rows(api.bulk([IN], date_format=None))  # yyyy-MM-dd text is not the organisation's format
    assert rows[0]["status"] == "failure"


def test_an_unsupported_date_format_refuses_the_call(api: ZohoApi) -> None:
    assert _error(api.bulk([IN], date_format="yyyy-MM-dd QQ"))[0] == 7055
    assert _error(api.bulk([IN], date_format="yyyy-MM-dd"))[0] == 7055  # no time in it


@pytest.mark.parametrize("data", ["", "not json", "{}", "[]"])
def test_data_must_be_a_non_empty_json_array(api: ZohoApi, data: str) -> None:
    code, _ = _error(api.bulk(data))
    assert code in (7016, 7019)


def test_a_punch_sent_twice_is_held_once_but_counts_as_a_second_delivery(api: ZohoApi) -> None:
    api.bulk([IN, OUT])
    api.bulk([IN, OUT])
    view = api.emulator.day("T-1", date(2025, 10, 6))
    assert view is not None and len(view.punches) == 2
    assert api.emulator.deliveries == 2
    assert api.emulator.duplicate_punches == 2


def test_a_night_shift_check_out_after_midnight_belongs_to_the_check_in_day(api: ZohoApi) -> None:
    api.bulk([{"empId": "T-1", "checkIn": "2025-10-06 22:00:00"}, {"empId": "T-1", "checkOut": "2025-10-07 06:00:00"}])
    assert set(api.emulator.days()) == {("T-1", date(2025, 10, 6))}
    assert api.emulator.deliveries == 1


def test_a_refused_employee_fails_with_the_configured_message(api: ZohoApi) -> None:
    api.emulator.refuse_employee("T-2", "Attendance is locked for payroll")
    rows = _rows(api.bulk([{"empId": "T-2", "checkIn": "2025-10-06 09:00:00"}, IN]))
    assert rows[0]["message"] == "Attendance is locked for payroll"
    assert rows[1]["status"] == "success"


def test_employees_are_found_by_email_any_case_and_by_map_id(api: ZohoApi) -> None:
    rows = _rows(
        api.bulk(
            [{"emailId": "ASHA@example.com", "checkIn": "2025-10-06 09:00:00"}, {"mapId": "102", **OUT}],
        )
    )
    assert [r["status"] for r in rows] == ["success", "success"]
    assert {key[0] for key in api.emulator.days()} == {"T-1"}


# -- rate limits ---------------------------------------------------------------------------------------


def test_eleventh_bulk_import_in_a_minute_locks_the_api_for_five_minutes(api: ZohoApi, clock: ManualClock) -> None:
    for _ in range(10):
        assert _rows(api.bulk([IN]))
        clock.advance(5)
    code, message = _error(api.bulk([IN]))
    assert code == THROTTLE_CODE and "5 minutes" in message
    assert api.emulator.locks == 1
    clock.advance(120)  # the minute has long passed, but the lock holds
    assert _error(api.bulk([IN]))[0] == THROTTLE_CODE
    clock.advance(181)
    assert _rows(api.bulk([IN]))
    assert api.emulator.locks == 1


def test_the_minute_is_any_sliding_sixty_seconds(api: ZohoApi, clock: ManualClock) -> None:
    for _ in range(10):
        api.bulk([IN])
        clock.advance(5.9)  # ten calls over 59 s
    clock.advance(60 - 59 + 0.05)  # the first call is now just over a minute old
    assert _rows(api.bulk([IN]))
    assert _error(api.bulk([IN]))[0] == THROTTLE_CODE  # the second one still is not


def test_throttle_can_be_answered_with_429_and_retry_after(clock: ManualClock) -> None:
    emulator = ZohoEmulator(clock=clock, throttle_http_status=429)
    emulator.seed_employees([Employee("T-1", "Asha Rao")])
    with serve(emulator.app, http=NoDelayHttp) as server, httpx.Client(base_url=server.url) as client:
        zoho = ZohoApi(client, emulator)
        for _ in range(10):
            zoho.bulk([IN])
        refused = zoho.bulk([IN])
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "300"
    assert _error(refused)[0] == THROTTLE_CODE


def test_single_punches_lock_after_100_a_minute(api: ZohoApi) -> None:
    for _ in range(100):
        assert api.punch(empId="T-1", checkIn="06/10/2025 09:00:00").json()["response"]["status"] == 0
    assert _error(api.punch(empId="T-1", checkIn="06/10/2025 09:00:00"))[0] == THROTTLE_CODE
    assert api.emulator.locks == 1


def test_single_punch_takes_check_in_and_check_out_together(api: ZohoApi) -> None:
    reply = api.punch(mapId="101", checkIn="06/10/2025 09:00:00", checkOut="06/10/2025 17:00:00")
    assert reply.json()["response"]["status"] == 0
    view = api.emulator.day("T-1", date(2025, 10, 6))
    assert view is not None and view.total_minutes == 8 * 60


def test_read_back_locks_after_100_a_minute_for_ten_minutes(api: ZohoApi, clock: ManualClock) -> None:
    for _ in range(100):
        api.entries(date="2025-10-06", empId="T-1")
    assert _error(api.entries(date="2025-10-06", empId="T-1"))[0] == THROTTLE_CODE
    clock.advance(599)
    assert _error(api.entries(date="2025-10-06", empId="T-1"))[0] == THROTTLE_CODE
    clock.advance(2)
    assert api.entries(date="2025-10-06", empId="T-1").json()["status"] == 0


def test_employee_records_lock_after_400_a_minute(clock: ManualClock) -> None:
    limits = ZohoLimits(per_minute={"getRecords": 400})
    emulator = ZohoEmulator(clock=clock, limits=limits)
    emulator.seed_employees([Employee("T-1", "Asha Rao")])
    with serve(emulator.app, http=NoDelayHttp) as server, httpx.Client(base_url=server.url) as client:
        zoho = ZohoApi(client, emulator)
        for _ in range(400):
            assert zoho.records().status_code == 200
        assert _error(zoho.records())[0] == THROTTLE_CODE


def test_the_daily_cap_refuses_further_calls_until_the_next_day(clock: ManualClock) -> None:
    emulator = ZohoEmulator(clock=clock, limits=ZohoLimits(daily_calls=3))
    emulator.seed_employees([Employee("T-1", "Asha Rao")])
    with serve(emulator.app, http=NoDelayHttp) as server, httpx.Client(base_url=server.url) as client:
        zoho = ZohoApi(client, emulator)
        for _ in range(3):
            assert zoho.records().status_code == 200
        code, message = _error(zoho.records())
        assert code == DAILY_LIMIT_CODE and "3 calls" in message
        now = datetime.fromtimestamp(clock(), UTC)
        midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
        clock.advance((midnight - now).total_seconds() + 1)
        zoho.emulator.expire_tokens()
        zoho._token = None  # the old one expired overnight
        assert zoho.records().status_code == 200


def test_lifted_limits_let_everything_through(clock: ManualClock) -> None:
    emulator = ZohoEmulator(clock=clock, limits=ZohoLimits.lifted(), bulk_reply="rows")
    emulator.seed_employees([Employee("T-1", "Asha Rao")])
    with serve(emulator.app, http=NoDelayHttp) as server, httpx.Client(base_url=server.url) as client:
        zoho = ZohoApi(client, emulator)
        for _ in range(30):
            assert _rows(zoho.bulk([IN]))
    assert emulator.locks == 0


# -- getRecords ---------------------------------------------------------------------------------------


def test_get_records_pages_from_one_in_zoho_shape(api: ZohoApi) -> None:
    first = api.records(sIndex=1, limit=3).json()["response"]
    assert first["status"] == 0
    records = [next(iter(item.items())) for item in first["result"]]
    assert [fields[0]["EmployeeID"] for _, fields in records] == ["T-1", "T-2", "T-3"]
    record_id, (fields,) = records[0]
    assert record_id.isdigit()
    assert fields["FirstName"] == "Asha" and fields["LastName"] == "Rao"
    assert fields["EmailID"] == "asha@example.com" and fields["MapperID"] == "101"
    assert fields["Employeestatus"] == "Active" and fields["Department"] == "Ops"
    rest = api.records(sIndex=4, limit=3).json()["response"]["result"]
    assert [next(iter(item.values()))[0]["EmployeeID"] for item in rest] == ["T-4"]
    assert next(iter(rest[0].values()))[0]["Employeestatus"] == "Resigned"


def test_get_records_refuses_a_limit_over_200(api: ZohoApi) -> None:
    assert _error(api.records(sIndex=1, limit=201))[0] == 7021


def test_get_records_past_the_last_record_says_no_records(api: ZohoApi) -> None:
    assert _error(api.records(sIndex=5, limit=200))[0] == NO_RECORDS_CODE


def test_get_records_modifiedtime_keeps_later_changes(api: ZohoApi, clock: ManualClock) -> None:
    changed = datetime.fromtimestamp(clock() + 3600, UTC)  # the others were seeded at the clock's start
    api.emulator.seed_employees([Employee("T-9", "Ivy Tan", modified_at=changed)])
    since = int((changed - timedelta(seconds=1)).timestamp() * 1000)
    reply = api.records(sIndex=1, limit=200, modifiedtime=since).json()["response"]["result"]
    assert [next(iter(item.values()))[0]["EmployeeID"] for item in reply] == ["T-9"]


def test_get_records_refuses_non_numbers(api: ZohoApi) -> None:
    assert _error(api.records(sIndex="one"))[0] == 7034


# -- getAttendanceEntries -----------------------------------------------------------------------------


def test_attendance_entries_show_first_in_last_out_hours_and_pairs(api: ZohoApi) -> None:
    api.bulk([IN, {"empId": "T-1", "checkOut": "2025-10-06 13:00:00"}, {**IN, "checkIn": "2025-10-06 14:00:00"}, OUT])
    reply = api.entries(date="2025-10-06", empId="T-1").json()
    assert reply["firstIn"] == "2025-10-06 09:00:00" and reply["lastOut"] == "2025-10-06 18:00:00"
    assert reply["totalHrs"] == "08:00"
    # Zoho's own sample (attendance-entries.html): entries in 12-hour time to the minute.
    assert [(e["checkIn"], e["checkOut"]) for e in reply["entries"]] == [
        ("06-Oct-2025 - 09:00 AM", "06-Oct-2025 - 01:00 PM"),
        ("06-Oct-2025 - 02:00 PM", "06-Oct-2025 - 06:00 PM"),
    ]


def test_attendance_entries_of_an_empty_day_are_empty(api: ZohoApi) -> None:
    reply = api.entries(date="2025-10-07", mapId="101").json()
    assert reply["entries"] == [] and reply["firstIn"] == ""


def test_attendance_entries_need_a_date_and_a_known_employee(api: ZohoApi) -> None:
    assert _error(api.entries(empId="T-1"))[0] == 7019
    assert _error(api.entries(date="2025-10-06", empId="T-99"))[0] == 7048
    assert _error(api.entries(date="06-10-2025", empId="T-1"))[0] == 7055


def test_canned_failures_replace_the_next_reply_and_may_apply_first(api: ZohoApi) -> None:
    api.emulator.fail_next("bulkImport", status=502, body="<html>Bad Gateway</html>", after_apply=True)
    reply = api.bulk([IN])
    assert reply.status_code == 502 and "html" in reply.headers["content-type"]
    assert api.emulator.day("T-1", date(2025, 10, 6)) is not None  # stored, though the reply was lost
    assert _rows(api.bulk([OUT]))  # only the next call was affected


def test_java_date_formats_round_trip() -> None:
    pattern = JavaDateFormat("dd-MMM-yyyy - hh:mm a")
    moment = datetime(2023, 3, 3, 15, 0)
    assert pattern.format(moment) == "03-Mar-2023 - 03:00 PM"
    assert pattern.parse("03-Mar-2023 - 03:00 PM") == moment
    with pytest.raises(ValueError):
        pattern.parse("03-Mar-2023 - 13:00 PM")
