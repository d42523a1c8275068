"""The ERPNext emulator refuses what Frappe HR refuses, in Frappe's words, so a careless plugin fails against it."""

from __future__ import annotations

import httpx
import pytest
from support.erpnext_builders import ADD_LOG, STAFF, add_log, listing, messages

from punchbridge.testing.emulators.erpnext import LEGACY_METHOD, ErpNextEmulator
from punchbridge.testing.http import ServedApp, serve

STAMP = "2025-10-06 09:02:00"


def test_a_punch_becomes_an_employee_checkin_of_the_employee_with_that_device_id(
    site: httpx.Client, emulator: ErpNextEmulator
) -> None:
    reply = add_log(site, "T-1", STAMP)
    assert reply.status_code == 200
    doc = reply.json()["message"]
    assert doc["employee"] == emulator.employee_name("T-1") and doc["employee_name"] == "Asha Rao"
    assert doc["time"] == STAMP and doc["log_type"] == "IN" and doc["device_id"] == "GATE"
    assert doc["name"].startswith("EMP-CKIN-10-2025-")
    assert emulator.checkins() == [{k: v for k, v in doc.items() if k != "doctype"} | {"doctype": "Employee Checkin"}]


def test_a_repeat_of_employee_time_and_log_type_is_refused_as_frappe_words_it(
    site: httpx.Client, emulator: ErpNextEmulator
) -> None:
    first = add_log(site, "T-1", STAMP).json()["message"]["name"]
    again = add_log(site, "T-1", STAMP)
    assert again.status_code == 417
    assert again.json()["exc_type"] == "ValidationError"
    (message,) = messages(again)
    assert message.startswith("This employee already has a log with the same timestamp.<Br><a href=")
    assert first in message
    assert add_log(site, "T-1", STAMP, log_type="OUT").status_code == 200, "another log type is another punch"
    assert len(emulator.checkins()) == 2


def test_erpnext_13_refuses_any_second_punch_at_the_same_time() -> None:
    old = ErpNextEmulator(version=13)
    old.seed_employees(STAFF)
    with serve(old.app) as server, httpx.Client(base_url=server.url) as http:
        token = {"Authorization": f"token {old.api_key}:{old.api_secret}"}
        form = {"employee_field_value": "T-1", "timestamp": STAMP, "log_type": "IN"}
        path = f"/api/method/{LEGACY_METHOD}"
        assert http.post(path, data=form, headers=token).status_code == 200
        assert http.post(path, data={**form, "log_type": "OUT"}, headers=token).status_code == 417


@pytest.mark.parametrize(
    ("form", "status", "exc_type", "words"),
    [
        ({"employee_field_value": "T-9"}, 417, "ValidationError",
         "No Employee found for the given employee field value. 'attendance_device_id': T-9"),
        ({"timestamp": ""}, 417, "ValidationError", "'employee_field_value' and 'timestamp' are required."),
        ({"employee_fieldname": "first_name"}, 417, "ValidationError", "'employee_fieldname' must be one of"),
        ({"timestamp": "2025-10-06T09:02:00+05:30"}, 417, "ValidationError", "is not a valid date-time"),
        ({"timestamp": "06-10-2025 09:02"}, 417, "ValidationError", "is not a valid date-time"),
        ({"log_type": "in"}, 417, "ValidationError", 'Log Type cannot be "in"'),
        ({"device_id": "D" * 141}, 417, "CharacterLengthExceededError", "Value too big"),
        ({"employee_field_value": "T-4"}, 417, "ValidationError",
         "Transactions cannot be created for an Inactive Employee"),
    ],
)  # fmt: skip
def test_a_punch_frappe_hr_would_refuse_is_a_417_with_its_server_messages(
    site: httpx.Client, emulator: ErpNextEmulator, form: dict[str, str], status: int, exc_type: str, words: str
) -> None:
    base = {"employee_field_value": "T-1", "timestamp": STAMP, "log_type": "IN"}
    reply = site.post(ADD_LOG, data={**base, **form})
    assert reply.status_code == status
    assert reply.json()["exc_type"] == exc_type
    assert words in messages(reply)[0]
    assert reply.json()["exception"].startswith(f"frappe.exceptions.{exc_type}: ")
    assert emulator.checkins() == []


def test_a_json_body_works_like_a_form_and_the_employee_can_be_found_by_name(
    site: httpx.Client, emulator: ErpNextEmulator
) -> None:
    name = emulator.employee_name("T-2")
    body = {"employee_field_value": name, "timestamp": STAMP, "log_type": "OUT", "employee_fieldname": "name"}
    reply = site.post(ADD_LOG, json=body)
    assert reply.status_code == 200 and reply.json()["message"]["employee"] == name


def test_a_refused_employee_gets_the_message_set_up(site: httpx.Client, emulator: ErpNextEmulator) -> None:
    emulator.refuse_employee("T-2", "Payroll is locked for T-2")
    assert add_log(site, "T-1", STAMP).status_code == 200
    refused = add_log(site, "T-2", STAMP)
    assert refused.status_code == 417 and messages(refused) == ["Payroll is locked for T-2"]


def test_the_token_must_be_the_key_and_secret_and_permissions_are_checked(
    emulator: ErpNextEmulator, server: ServedApp, site: httpx.Client
) -> None:
    with httpx.Client(base_url=server.url) as anonymous:
        guest = anonymous.post(ADD_LOG, data={"employee_field_value": "T-1", "timestamp": STAMP})
        wrong = anonymous.post(ADD_LOG, headers={"Authorization": f"token {emulator.api_key}:nope"}, data={})
        bearer = anonymous.get("/api/resource/Employee", headers={"Authorization": f"Bearer {emulator.api_secret}"})
    assert guest.status_code == 403 and guest.json()["exc_type"] == "PermissionError"
    assert wrong.status_code == 401 and wrong.json()["exc_type"] == "AuthenticationError"
    assert bearer.status_code == 401
    emulator.deny("create")
    denied = add_log(site, "T-1", STAMP)
    assert denied.status_code == 403 and messages(denied) == ["Not permitted to create Employee Checkin."]
    emulator.deny("read")
    assert listing(site, "Employee").status_code == 403
    assert emulator.checkins() == []


def test_the_other_lines_method_path_is_not_there(site: httpx.Client) -> None:
    reply = site.post(f"/api/method/{LEGACY_METHOD}", data={"employee_field_value": "T-1", "timestamp": STAMP})
    assert reply.status_code == 417
    assert messages(reply)[0].startswith("Failed to get method for command erpnext.hr.doctype")


def test_throttling_answers_429_with_retry_after_then_lets_calls_through(
    site: httpx.Client, emulator: ErpNextEmulator
) -> None:
    emulator.throttle(2, retry_after=30)
    limited = [add_log(site, "T-1", STAMP) for _ in range(2)]
    assert [r.status_code for r in limited] == [429, 429]
    assert limited[0].headers["retry-after"] == "30" and limited[0].json()["exc_type"] == "TooManyRequestsError"
    assert add_log(site, "T-1", STAMP).status_code == 200
    assert emulator.requests == 3 and emulator.calls["add_log"] == 3


def test_the_employee_list_pages_with_limit_start_and_page_length_default_20(
    site: httpx.Client, emulator: ErpNextEmulator
) -> None:
    from punchbridge.plugin_api import Employee

    emulator.seed_employees([Employee(f"X-{n:02d}", f"Extra {n}") for n in range(30)])
    default = listing(site, "Employee").json()["data"]
    fields = ["name", "attendance_device_id", "status"]
    pages = [listing(site, "Employee", fields=fields, order_by="name asc", limit_start=s, limit_page_length=15)
             for s in (0, 15, 30)]  # fmt: skip
    everyone = listing(site, "Employee", fields=["name"], limit_page_length=0).json()["data"]
    assert len(default) == 20 and set(default[0]) == {"name"}
    assert [len(p.json()["data"]) for p in pages] == [15, 15, 4]
    assert len({row["name"] for p in pages for row in p.json()["data"]}) == 34 == len(everyone)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"filters": [["status", "=", "Left"]]}, ["T-4"]),
        ({"filters": {"status": "Left"}}, ["T-4"]),
        ({"filters": [["attendance_device_id", "in", ["T-1", "T-3"]]]}, ["T-1", "T-3"]),
        ({"filters": [["Employee", "attendance_device_id", "not in", ["T-1", "T-3"]]]}, ["T-2", "T-4"]),
        ({"filters": [["modified", ">", "2025-06-01 00:00:00"]]}, ["T-3", "T-4"]),
        ({"filters": [["department", "is", "set"]]}, ["T-1"]),
    ],
)
def test_the_employee_list_filters_as_frappe_does(
    site: httpx.Client, params: dict[str, object], expected: list[str]
) -> None:
    reply = listing(site, "Employee", fields=["attendance_device_id"], order_by="attendance_device_id asc", **params)
    assert [row["attendance_device_id"] for row in reply.json()["data"]] == expected


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"fields": ["shoe_size"]}, "Field not permitted in query: shoe_size"),
        ({"filters": [["shoe_size", "=", 1]]}, "Field not permitted in query: shoe_size"),
        ({"filters": [["status", "~", "Left"]]}, "Unsupported operator"),
        ({"order_by": "name sideways"}, "Invalid order_by"),
    ],
)
def test_a_list_query_frappe_would_refuse_is_a_417(site: httpx.Client, params: dict[str, object], words: str) -> None:
    reply = listing(site, "Employee", **params)
    assert reply.status_code == 417
    assert words in messages(reply)[0]


def test_check_ins_are_listed_by_employee_and_time_and_unknown_doctypes_are_404(
    site: httpx.Client, emulator: ErpNextEmulator
) -> None:
    for stamp, kind in (("2025-10-06 09:02:00", "IN"), ("2025-10-06 18:12:00", "OUT"), ("2025-10-07 09:00:00", "IN")):
        add_log(site, "T-1", stamp, log_type=kind)
    add_log(site, "T-2", "2025-10-06 09:30:00")
    filters = [["employee", "in", [emulator.employee_name("T-1")]], ["time", ">=", "2025-10-06 00:00:00"],
               ["time", "<", "2025-10-07 00:00:00"]]  # fmt: skip
    rows = listing(site, "Employee Checkin", fields=["log_type", "time"], filters=filters, order_by="time asc")
    assert rows.json()["data"] == [
        {"log_type": "IN", "time": "2025-10-06 09:02:00"},
        {"log_type": "OUT", "time": "2025-10-06 18:12:00"},
    ]
    missing = listing(site, "Timesheet")
    assert missing.status_code == 404 and missing.json()["exc_type"] == "DoesNotExistError"


def test_day_writes_count_each_delivery_of_a_day_duplicates_included(
    site: httpx.Client, emulator: ErpNextEmulator
) -> None:
    add_log(site, "T-1", "2025-10-06 09:02:00", "IN")
    add_log(site, "T-1", "2025-10-06 18:12:00", "OUT")
    assert emulator.day_writes() == 1
    add_log(site, "T-1", "2025-10-06 09:02:00", "IN")  # a resend: refused as a duplicate, still a second delivery
    assert emulator.day_writes() == 2
    assert len(emulator.checkins()) == 2
