"""The Zoho People emulator answers bulkImport and getAttendanceEntries as Zoho is seen to answer them.

Zoho documents no bulkImport reply; what is known comes from clients (see the emulator's `replies`
module): `{"response": "success"}` from a production push, a whole call failed with code 7200 for one
bad row, and a status-0 envelope. getAttendanceEntries follows the sample of Zoho's documentation
(https://www.zoho.com/people/api/attendance-entries.html).
"""

from __future__ import annotations

from datetime import date

import pytest
from support.zoho_builders import ZohoApi

from punchbridge.testing.emulators.zoho import API_INVOCATION_FAILED, ZohoEmulator

IN = {"empId": "T-1", "checkIn": "2025-10-06 09:00:00"}
OUT = {"empId": "T-1", "checkOut": "2025-10-06 18:00:00"}
UNKNOWN = {"empId": "T-99", "checkIn": "2025-10-07 09:00:00"}
MONDAY = date(2025, 10, 6)


def test_a_call_zoho_takes_whole_is_answered_response_success(api: ZohoApi) -> None:
    reply = api.bulk([IN, OUT])
    assert (reply.status_code, reply.json()) == (200, {"response": "success"})
    view = api.emulator.day("T-1", MONDAY)
    assert view is not None and len(view.punches) == 2


def test_one_bad_row_fails_the_whole_call_with_7200_naming_no_row_and_stores_nothing(api: ZohoApi) -> None:
    reply = api.bulk([IN, OUT, UNKNOWN])
    assert reply.status_code == 400
    body = reply.json()["response"]
    assert body["status"] == 1
    assert body["errors"] == {"code": API_INVOCATION_FAILED, "message": "API invocation failed"}
    assert api.emulator.days() == {}, "the good rows went down with the bad one"


def test_a_refusal_set_up_for_an_employee_fails_the_call_in_its_own_words(api: ZohoApi) -> None:
    api.emulator.refuse_employee("T-2", "Attendance period is locked")
    reply = api.bulk([IN, {"empId": "T-2", "checkIn": "2025-10-06 09:00:00"}])
    assert reply.json()["response"]["errors"] == {"code": 7200, "message": "Attendance period is locked"}
    assert api.emulator.days() == {}


@pytest.mark.parametrize("bulk_reply", ["envelope"])
def test_the_envelope_says_nothing_per_row_and_drops_bad_rows_silently(api: ZohoApi) -> None:
    reply = api.bulk([IN, UNKNOWN, OUT])
    assert reply.status_code == 200
    body = reply.json()["response"]
    assert body["status"] == 0 and "result" not in body
    assert body["errorDates"] == ["2025-10-07"]
    assert set(api.emulator.days()) == {("T-1", MONDAY)}


@pytest.mark.parametrize("bulk_reply", ["rows"])
def test_the_rows_shape_answers_each_row_and_stores_the_good_ones(api: ZohoApi) -> None:
    rows = api.bulk([IN, UNKNOWN]).json()["response"]["result"]
    assert [r["status"] for r in rows] == ["success", "failure"]
    assert set(api.emulator.days()) == {("T-1", MONDAY)}


def test_an_unknown_reply_shape_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="bulk_reply must be one of success, envelope, rows"):
        ZohoEmulator(bulk_reply="partial")


def test_entries_come_back_in_zohos_twelve_hour_minute_format_and_the_day_in_full(api: ZohoApi) -> None:
    api.bulk([{"empId": "T-1", "checkIn": "2025-10-06 00:30:15", "location": "Gate 2"},
              {"empId": "T-1", "checkOut": "2025-10-06 12:05:00"},
              {"empId": "T-1", "checkIn": "2025-10-06 22:00:00"},
              {"empId": "T-1", "checkOut": "2025-10-07 06:45:59"}])  # fmt: skip
    reply = api.entries(date="2025-10-06", empId="T-1").json()
    assert "response" not in reply, "the documented sample has no wrapper"
    assert (reply["firstIn"], reply["lastOut"]) == ("2025-10-06 00:30:15", "2025-10-07 06:45:59")
    assert [(e["checkIn"], e["checkOut"]) for e in reply["entries"]] == [
        ("06-Oct-2025 - 12:30 AM", "06-Oct-2025 - 12:05 PM"),
        ("06-Oct-2025 - 10:00 PM", "07-Oct-2025 - 06:45 AM"),
    ]
    assert reply["entries"][0]["checkIn_Location"] == "Gate 2" and reply["entries"][1]["checkIn_Location"] == "-"
    assert reply["firstIn_Location"] == "Gate 2"
    assert reply["totalHrs"] == "20:19"
