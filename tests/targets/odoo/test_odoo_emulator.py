"""The Odoo emulator refuses what Odoo refuses, in each protocol's own words.

Each test calls the emulator over real HTTP with a bare client (`odoo_wire.Wire`), so what is
checked is what a plugin would receive.
"""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from support.odoo_servers import OdooRun
from support.odoo_wire import OdooFailure, Wire

from punchbridge.plugin_api import Employee

ASHA, BEN, CHEN = 1, 2, 3  # the seeded employees' ids (Chen is archived)


def _interval(employee: int, check_in: str, check_out: str | None = None) -> dict[str, object]:
    values: dict[str, object] = {"employee_id": employee, "check_in": check_in}
    if check_out is not None:
        values["check_out"] = check_out
    return values


def _refusal(wire: Wire, failure: OdooFailure) -> tuple[object, str]:
    """What a ValidationError looks like in the protocol of `wire`: (fault code | status, name)."""
    expected = {"xmlrpc": 2, "jsonrpc": 200, "json2": 422}[wire.protocol]
    assert failure.code == expected, failure
    if wire.protocol != "xmlrpc":
        assert failure.name == "odoo.exceptions.ValidationError", failure
    return failure.code, failure.message


# -- authentication ------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["xmlrpc", "jsonrpc"])
def test_authenticate_gives_the_uid_for_the_right_key_and_false_otherwise(odoo17: OdooRun, protocol: str) -> None:
    emulator = odoo17.emulator
    wire = Wire(odoo17.url, protocol, emulator.database, emulator.login, emulator.api_key)
    assert wire.common("authenticate", emulator.database, emulator.login, emulator.api_key, {}) == 2
    assert wire.common("authenticate", emulator.database, emulator.login, "wrong-key", {}) is False
    assert wire.common("authenticate", emulator.database, "someone-else", emulator.api_key, {}) is False


@pytest.mark.parametrize("protocol", ["xmlrpc", "jsonrpc"])
def test_an_unknown_database_is_refused(odoo17: OdooRun, protocol: str) -> None:
    emulator = odoo17.emulator
    wire = Wire(odoo17.url, protocol, "nope", emulator.login, emulator.api_key)
    with pytest.raises(OdooFailure) as refused:
        wire.common("authenticate", "nope", emulator.login, emulator.api_key, {})
    assert 'database "nope" does not exist' in refused.value.message
    with pytest.raises(OdooFailure, match="does not exist"):
        wire.call("hr.employee", "search_read")


@pytest.mark.parametrize("protocol", ["xmlrpc", "jsonrpc"])
def test_execute_kw_with_a_wrong_key_or_uid_is_access_denied(odoo17: OdooRun, protocol: str) -> None:
    emulator = odoo17.emulator
    wrong_key = Wire(odoo17.url, protocol, emulator.database, emulator.login, "wrong-key")
    right = Wire(odoo17.url, protocol, emulator.database, emulator.login, emulator.api_key)
    for attempt in (
        lambda: wrong_key.call("hr.employee", "search_read"),
        lambda: right.call("hr.employee", "search_read", uid=99),
    ):
        with pytest.raises(OdooFailure) as denied:
            attempt()
        if protocol == "xmlrpc":
            assert (denied.value.code, denied.value.message) == (3, "Access Denied")
        else:
            assert denied.value.name == "odoo.exceptions.AccessDenied"


def test_json2_wants_the_bearer_key(odoo19: OdooRun) -> None:
    emulator = odoo19.emulator
    wire = Wire(odoo19.url, "json2", emulator.database, emulator.login, emulator.api_key)
    for headers in ({"Authorization": "bearer wrong-key"}, {"Authorization": ""}, {"Authorization": "basic x"}):
        with pytest.raises(OdooFailure) as refused:
            wire.json2("hr.employee", "search_read", {}, headers)
        # Odoo refuses the bearer before any ORM call: werkzeug's Unauthorized, in the words of the
        # JSON-2 documentation (odoo/documentation content/developer/reference/external_api.rst).
        assert (refused.value.code, refused.value.name, refused.value.message) == (
            401,
            "werkzeug.exceptions.Unauthorized",
            "Invalid apikey",
        )
    assert wire.json2("hr.employee", "search_count", {}, {"Authorization": f"Bearer {emulator.api_key}"}) == 2


def test_json2_database_header_is_optional_but_must_name_the_database(odoo19: OdooRun) -> None:
    emulator = odoo19.emulator
    wire = Wire(odoo19.url, "json2", emulator.database, emulator.login, emulator.api_key)
    assert wire.json2("hr.employee", "search_count", {}, {"X-Odoo-Database": emulator.database}) == 2
    with pytest.raises(OdooFailure) as unknown:
        wire.json2("hr.employee", "search_count", {}, {"X-Odoo-Database": "other"})
    assert unknown.value.code == 404
    response = httpx.post(
        f"{odoo19.url}/json/2/hr.employee/search_count", json={}, headers={"Authorization": f"bearer {wire.api_key}"}
    )
    assert response.json() == 2


def test_json2_takes_named_arguments_only(odoo19: OdooRun) -> None:
    emulator = odoo19.emulator
    wire = Wire(odoo19.url, "json2", emulator.database, emulator.login, emulator.api_key)
    for body, words in (
        ([[["active", "=", True]]], "positional"),
        ({"domain": [], "bogus": 1}, "unexpected keyword argument 'bogus'"),
        ({}, "missing a required argument: 'vals_list'"),
    ):
        method = "create" if body == {} else "search_read"
        with pytest.raises(OdooFailure) as refused:
            wire.json2("hr.attendance", method, body)
        assert refused.value.code == 422, body
        assert words in refused.value.message


def test_json2_answers_404_for_an_unknown_model_or_method(odoo19: OdooRun) -> None:
    emulator = odoo19.emulator
    wire = Wire(odoo19.url, "json2", emulator.database, emulator.login, emulator.api_key)
    for model, method in (("hr.nothing", "search_read"), ("hr.attendance", "action_nothing")):
        with pytest.raises(OdooFailure) as missing:
            wire.json2(model, method, {})
        assert missing.value.code == 404


def test_json2_does_not_exist_before_odoo_19(odoo17: OdooRun) -> None:
    emulator = odoo17.emulator
    wire = Wire(odoo17.url, "json2", emulator.database, emulator.login, emulator.api_key)
    with pytest.raises(OdooFailure) as missing:
        wire.json2("hr.employee", "search_count", {})
    assert missing.value.code == 404
    assert httpx.get(f"{odoo17.url}/web/version").status_code == 404


def test_an_access_error_is_fault_4_or_403(wire: Wire, odoo: OdooRun) -> None:
    odoo.emulator.deny("hr.attendance", "create")
    with pytest.raises(OdooFailure) as denied:
        wire.call("hr.attendance", "create", vals_list=[_interval(ASHA, "2025-10-06 03:30:00")])
    expected = {
        "xmlrpc": (4, ""),
        "jsonrpc": (200, "odoo.exceptions.AccessError"),
        "json2": (403, "odoo.exceptions.AccessError"),
    }[wire.protocol]
    assert (denied.value.code, denied.value.name) == expected
    assert "not allowed to create" in denied.value.message
    assert odoo.emulator.attendances() == []


# -- models and search ----------------------------------------------------------------------------


def test_search_hides_archived_employees_unless_the_domain_names_active(wire: Wire) -> None:
    assert [e["id"] for e in wire.call("hr.employee", "search_read", fields=["name"])] == [ASHA, BEN]
    everyone = wire.call("hr.employee", "search_read", domain=[["active", "in", [True, False]]], fields=["name"])
    assert sorted(e["id"] for e in everyone) == [ASHA, BEN, CHEN]
    assert wire.call("hr.employee", "search_count", domain=[["active", "=", False]]) == 1


def test_search_read_filters_orders_and_pages(wire: Wire) -> None:
    domain = ["|", ["barcode", "=", "A1"], ["pin", "=", "4321"]]
    found = wire.call("hr.employee", "search_read", domain=domain, fields=["barcode"], order="id desc")
    assert [e["barcode"] for e in found] == ["A2", "A1"]
    paged = wire.call(
        "hr.employee",
        "search_read",
        domain=[["active", "in", [True, False]]],
        fields=["id"],
        order="id",
        limit=2,
        offset=1,
    )
    assert [e["id"] for e in paged] == [BEN, CHEN]
    assert wire.call("hr.employee", "search_read", domain=[["id", "not in", [ASHA]]], fields=["id"]) == [{"id": BEN}]
    both = ["&", ["barcode", "!=", "A1"], "!", ["pin", "=", False]]
    assert wire.call("hr.employee", "search_read", domain=both, fields=["id"]) == [{"id": BEN}]


def test_employee_fields_come_back_as_odoo_gives_them(wire: Wire) -> None:
    (asha,) = wire.call("hr.employee", "read", [ASHA], fields=["name", "barcode", "pin", "department_id", "company_id"])
    assert asha["barcode"] == "A1"
    assert asha["pin"] is False  # Odoo gives False, not null, for an empty field
    assert asha["department_id"][1] == "Operations"
    assert asha["company_id"] == [1, "My Company"]


def test_an_unknown_field_or_bad_domain_is_an_application_error(wire: Wire) -> None:
    for params in ({"fields": ["nickname"]}, {"domain": [["nickname", "=", "x"]]}, {"domain": [["id", "~", 1]]}):
        with pytest.raises(OdooFailure) as refused:
            wire.call("hr.employee", "search_read", **params)
        assert refused.value.code in (1, 200, 500)
        assert "Invalid" in refused.value.message


def test_create_takes_a_dict_or_a_list_and_answers_an_id_or_ids(wire: Wire, odoo: OdooRun) -> None:
    many = wire.call(
        "hr.attendance",
        "create",
        vals_list=[
            _interval(ASHA, "2025-10-06 03:30:00", "2025-10-06 12:30:00"),
            _interval(BEN, "2025-10-06 03:35:00"),
        ],
    )
    assert isinstance(many, list) and len(many) == 2
    one = wire.call("hr.attendance", "create", vals_list=_interval(ASHA, "2025-10-07 03:30:00"))
    assert isinstance(one, int)
    held = odoo.emulator.attendances(ASHA)
    assert [(a["check_in"], a["check_out"]) for a in held] == [
        ("2025-10-06 03:30:00", "2025-10-06 12:30:00"),
        ("2025-10-07 03:30:00", False),
    ]
    # 17.0 subtracts the schedule's lunch (12:00-13:00 in Asha's zone, UTC here) from worked_hours; 19.0 does not.
    assert held[0]["worked_hours"] == {"17": 8.5, "19": 9.0}[odoo.emulator.version[:2]]


def test_write_changes_and_unlink_removes_and_a_missing_record_is_refused(wire: Wire, odoo: OdooRun) -> None:
    (new,) = wire.call("hr.attendance", "create", vals_list=[_interval(ASHA, "2025-10-06 03:30:00")])
    assert wire.call("hr.attendance", "write", [new], vals={"check_out": "2025-10-06 12:00:00"}) is True
    assert odoo.emulator.attendances(ASHA)[0]["check_out"] == "2025-10-06 12:00:00"
    assert wire.call("hr.attendance", "unlink", [new]) is True
    assert odoo.emulator.attendances() == []
    with pytest.raises(OdooFailure) as missing:
        wire.call("hr.attendance", "write", [new], vals={"check_out": False})
    assert "does not exist or has been deleted" in missing.value.message
    assert missing.value.code == {"xmlrpc": 2, "jsonrpc": 200, "json2": 404}[wire.protocol]


def test_search_reads_attendance_by_employee_and_time_window(wire: Wire) -> None:
    wire.call(
        "hr.attendance",
        "create",
        vals_list=[
            _interval(ASHA, "2025-10-05 03:30:00", "2025-10-05 12:00:00"),
            _interval(ASHA, "2025-10-06 03:30:00", "2025-10-06 12:00:00"),
            _interval(BEN, "2025-10-06 03:30:00", "2025-10-06 12:00:00"),
        ],
    )
    domain = [["employee_id", "in", [ASHA]], ["check_in", ">=", "2025-10-06 00:00:00"], ["check_in", "<", "2025-10-07"]]
    found = wire.call("hr.attendance", "search_read", domain=domain, fields=["employee_id", "check_in", "check_out"])
    assert [(a["employee_id"][0], a["check_in"]) for a in found] == [(ASHA, "2025-10-06 03:30:00")]
    assert wire.call("hr.attendance", "search_count", domain=[["check_out", "=", False]]) == 0


# -- hr.attendance constraints ------------------------------------------------------------------------


def test_check_out_before_check_in_is_a_validation_error(wire: Wire, odoo: OdooRun) -> None:
    with pytest.raises(OdooFailure) as refused:
        wire.call("hr.attendance", "create", vals_list=[_interval(ASHA, "2025-10-06 12:00:00", "2025-10-06 03:00:00")])
    assert '"Check Out" time cannot be earlier than "Check In" time.' in _refusal(wire, refused.value)[1]
    assert odoo.emulator.attendances() == []


@pytest.mark.parametrize(
    ("check_in", "check_out"),
    [
        ("2025-10-06 05:00:00", "2025-10-06 06:00:00"),  # inside the held interval
        ("2025-10-06 02:00:00", "2025-10-06 04:00:00"),  # ends inside it
        ("2025-10-06 02:00:00", "2025-10-06 14:00:00"),  # encloses it
        ("2025-10-06 03:30:00", "2025-10-06 04:00:00"),  # same check-in
        ("2025-10-06 11:59:59", None),  # open, starting inside it
    ],
)
def test_an_interval_overlapping_another_of_the_employee_is_a_validation_error(
    wire: Wire, odoo: OdooRun, check_in: str, check_out: str | None
) -> None:
    wire.call("hr.attendance", "create", vals_list=[_interval(ASHA, "2025-10-06 03:30:00", "2025-10-06 12:00:00")])
    with pytest.raises(OdooFailure) as refused:
        wire.call("hr.attendance", "create", vals_list=[_interval(ASHA, check_in, check_out)])
    assert "Cannot create new attendance record for Asha Rao" in _refusal(wire, refused.value)[1]
    assert len(odoo.emulator.attendances()) == 1
    wire.call("hr.attendance", "create", vals_list=[_interval(BEN, check_in, check_out)])  # another employee: fine


def test_touching_intervals_do_not_overlap(wire: Wire) -> None:
    wire.call("hr.attendance", "create", vals_list=[_interval(ASHA, "2025-10-06 03:30:00", "2025-10-06 07:30:00")])
    wire.call("hr.attendance", "create", vals_list=[_interval(ASHA, "2025-10-06 07:30:00", "2025-10-06 12:00:00")])


def test_a_second_open_interval_is_a_validation_error(wire: Wire) -> None:
    wire.call("hr.attendance", "create", vals_list=[_interval(ASHA, "2025-10-06 03:30:00")])
    with pytest.raises(OdooFailure) as refused:
        wire.call("hr.attendance", "create", vals_list=[_interval(ASHA, "2025-10-07 03:30:00")])
    # The time as `format_datetime` shows it to the caller: in their zone (UTC here), en_US date format.
    assert "hasn't checked out since 10/06/2025 03:30:00" in _refusal(wire, refused.value)[1]


def test_attendance_of_an_unknown_employee_is_a_validation_error(wire: Wire) -> None:
    with pytest.raises(OdooFailure) as refused:
        wire.call("hr.attendance", "create", vals_list=[_interval(99, "2025-10-06 03:30:00")])
    assert "does not exist" in _refusal(wire, refused.value)[1]


def test_one_bad_row_fails_the_whole_create_and_stores_nothing(wire: Wire, odoo: OdooRun) -> None:
    rows = [
        _interval(ASHA, "2025-10-06 03:30:00", "2025-10-06 12:00:00"),
        _interval(BEN, "2025-10-06 03:30:00", "2025-10-06 12:00:00"),
        _interval(BEN, "2025-10-06 05:00:00", "2025-10-06 06:00:00"),  # overlaps the row before it
    ]
    with pytest.raises(OdooFailure):
        wire.call("hr.attendance", "create", vals_list=rows)
    assert odoo.emulator.attendances() == []
    assert odoo.emulator.deliveries == 0
    wire.call("hr.attendance", "create", vals_list=rows[:2])
    assert len(odoo.emulator.attendances()) == 2


def test_a_write_that_would_overlap_is_refused_and_rolled_back(wire: Wire, odoo: OdooRun) -> None:
    first, second = wire.call(
        "hr.attendance",
        "create",
        vals_list=[
            _interval(ASHA, "2025-10-06 03:30:00", "2025-10-06 07:00:00"),
            _interval(ASHA, "2025-10-06 08:00:00", "2025-10-06 12:00:00"),
        ],
    )
    with pytest.raises(OdooFailure):
        wire.call("hr.attendance", "write", [first], vals={"check_out": "2025-10-06 09:00:00"})
    assert [a["check_out"] for a in odoo.emulator.attendances()] == ["2025-10-06 07:00:00", "2025-10-06 12:00:00"]
    wire.call("hr.attendance", "write", [second], vals={"check_in": "2025-10-06 07:00:00"})  # touching is fine


@pytest.mark.parametrize("bad", ["2025-10-06T03:30:00", "06/10/2025 03:30", "2025-13-01 00:00:00", 1728185400])
def test_a_malformed_datetime_is_a_value_error(wire: Wire, odoo: OdooRun, bad: object) -> None:
    with pytest.raises(OdooFailure) as refused:
        wire.call("hr.attendance", "create", vals_list=[{"employee_id": ASHA, "check_in": bad}])
    expected = {
        "xmlrpc": (1, "ValueError"),
        "jsonrpc": (200, "builtins.ValueError"),
        "json2": (500, "builtins.ValueError"),
    }[wire.protocol]
    assert (refused.value.code, refused.value.name) == expected
    assert odoo.emulator.attendances() == []


def test_json_rpc_errors_come_inside_http_200(odoo17: OdooRun) -> None:
    emulator = odoo17.emulator
    args = [emulator.database, 2, emulator.api_key, "hr.attendance", "create", [[_interval(99, "2025-10-06 03:00:00")]]]
    call = {"service": "object", "method": "execute_kw", "args": args}
    response = httpx.post(f"{odoo17.url}/jsonrpc", json={"jsonrpc": "2.0", "method": "call", "params": call, "id": 7})
    assert response.status_code == 200
    reply = response.json()
    assert reply["id"] == 7 and reply["error"]["code"] == 200 and reply["error"]["message"] == "Odoo Server Error"
    assert reply["error"]["data"]["name"] == "odoo.exceptions.ValidationError"


# -- configured failures and inspection ------------------------------------------------------------------


def test_a_refused_employee_gets_a_validation_error_on_create_and_write(wire: Wire, odoo: OdooRun) -> None:
    (held,) = wire.call("hr.attendance", "create", vals_list=[_interval(BEN, "2025-10-06 03:30:00")])
    message = odoo.emulator.refuse_employee(BEN)
    for call in (
        lambda: wire.call("hr.attendance", "create", vals_list=[_interval(BEN, "2025-10-07 03:30:00")]),
        lambda: wire.call("hr.attendance", "write", [held], vals={"check_out": "2025-10-06 12:00:00"}),
    ):
        with pytest.raises(OdooFailure) as refused:
            call()
        assert _refusal(wire, refused.value)[1] == message
    wire.call("hr.attendance", "create", vals_list=[_interval(ASHA, "2025-10-07 03:30:00")])


def test_injected_failures_answer_with_retry_after_and_change_nothing(wire: Wire, odoo: OdooRun) -> None:
    odoo.emulator.fail_next(2, status=429, retry_after=3)
    path = "/json/2/hr.attendance/create" if wire.protocol == "json2" else "/jsonrpc"
    if wire.protocol == "xmlrpc":
        path = "/xmlrpc/2/object"
    for _ in range(2):
        response = httpx.post(odoo.url + path, content=b"{}")
        assert response.status_code == 429
        assert response.headers["retry-after"] == "3"
    wire.call("hr.attendance", "create", vals_list=[_interval(ASHA, "2025-10-06 03:30:00")])
    assert len(odoo.emulator.attendances()) == 1


def test_a_canned_reply_is_served_once(wire: Wire, odoo: OdooRun) -> None:
    odoo.emulator.reply_next(b"<html>Maintenance</html>")
    with pytest.raises(Exception):  # noqa: B017 - whatever the client makes of HTML
        wire.call("hr.employee", "search_count")
    assert wire.call("hr.employee", "search_count") == 2


def test_rate_limit_answers_429_beyond_the_allowance(wire: Wire, odoo: OdooRun) -> None:
    odoo.emulator.rate_limit(2, per_seconds=60)
    wire.call("hr.employee", "search_count")
    wire.call("hr.employee", "search_count")
    response = httpx.post(odoo.url + "/jsonrpc", json={})
    assert response.status_code == 429
    assert 0 < float(response.headers["retry-after"]) <= 60


def test_requests_calls_and_deliveries_are_counted(wire: Wire, odoo: OdooRun) -> None:
    emulator = odoo.emulator
    (first,) = wire.call("hr.attendance", "create", vals_list=[_interval(ASHA, "2025-10-06 03:30:00")])
    wire.call("hr.attendance", "write", [first], vals={"check_out": "2025-10-06 12:00:00"})
    with pytest.raises(OdooFailure):
        wire.call("hr.attendance", "create", vals_list=[_interval(ASHA, "2025-10-06 04:00:00")])
    wire.call("hr.attendance", "search_read", domain=[])
    assert emulator.deliveries == 2  # the refused create delivered nothing
    assert emulator.calls[("hr.attendance", "create")] == 2
    assert emulator.calls[("hr.attendance", "write")] == 1
    assert emulator.request_count == 4


def test_seeded_employees_carry_their_fields() -> None:
    from punchbridge.testing.emulators.odoo import OdooEmulator

    emulator = OdooEmulator()
    changed = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)
    (new,) = emulator.seed_employees(
        [Employee("T-9", "Dev Patel", False, "dev@example.com", "B-9", "77", "Stores", "Pune Works", changed)],
        barcode_from="badge",
    )
    employee = emulator.employees[new]
    assert (employee["barcode"], employee["pin"], employee["work_email"], employee["active"]) == (
        "B-9",
        "77",
        "dev@example.com",
        False,
    )
    assert emulator.departments[employee["department_id"]] == "Stores"
    assert emulator.companies[employee["company_id"]] == "Pune Works"
    assert employee["write_date"] == datetime(2025, 6, 2, 8, 0)
    with pytest.raises(ValueError, match="already"):
        emulator.seed_employees([Employee("T-10", "Other", badge="B-9")], barcode_from="badge")


def test_the_version_is_reported_where_clients_ask(odoo17: OdooRun, odoo19: OdooRun) -> None:
    for run, major in ((odoo17, 17), (odoo19, 19)):
        emulator = run.emulator
        wire = Wire(run.url, "xmlrpc", emulator.database, emulator.login, emulator.api_key)
        assert wire.common("version")["server_version_info"][0] == major
        info = httpx.post(f"{run.url}/web/webclient/version_info", json={"jsonrpc": "2.0", "params": {}}).json()
        assert info["result"]["server_version"] == f"{major}.0"
    assert httpx.get(f"{odoo19.url}/web/version").json()["version_info"][0] == 19


@pytest.mark.parametrize("path", ["/jsonrpc", "/web/webclient/version_info"])
@pytest.mark.parametrize(
    ("body", "answer"),
    [(b"{not json", "Invalid JSON data"), (b"", "Invalid JSON data"), (b"[1, 2]", "Invalid JSON-RPC data")],
)
def test_a_json_rpc_body_odoo_cannot_read_is_refused_before_any_route(
    odoo17: OdooRun, path: str, body: bytes, answer: str
) -> None:
    # Odoo's JsonRPCDispatcher.dispatch (odoo/http.py) answers a plain 400, not a JSON-RPC error.
    response = httpx.post(odoo17.url + path, content=body, headers={"Content-Type": "application/json"})
    assert (response.status_code, response.text) == (400, answer)
    assert httpx.post(odoo17.url + "/web/webclient/version_info", json={"id": 7}).json()["id"] == 7
