"""The `odoo` target: settings, protocol choice, pushing days as hr.attendance intervals, errors.

Every test runs the target against the emulator over real HTTP (`odoo` runs it once per protocol);
a few use a small hostile server to show what a broken reply becomes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from support.odoo_days import COLUMNS, DAY, batch, by_key, held, record
from support.odoo_servers import OdooRun

from punchbridge.mapping.files import load_mapping
from punchbridge.plugin_api import (
    CredentialsError,
    FatalTargetError,
    RateLimitedError,
    Record,
    TargetReplyError,
    TransientError,
)
from punchbridge.plugins.odoo import OdooSettings, OdooTarget
from punchbridge.testing.http import serve

EXAMPLES = Path(__file__).resolve().parents[3] / "mappings"


@pytest.fixture
def target(odoo: OdooRun) -> Iterator[OdooTarget]:
    odoo_target = OdooTarget("odoo", odoo.settings())
    odoo_target.open()
    yield odoo_target
    odoo_target.close()


# -- settings and columns ----------------------------------------------------------------------------


def test_settings_refuse_unknown_keys_a_bad_zone_an_empty_key_and_rpc_without_login() -> None:
    base = {"url": "https://odoo.example.com/", "database": "prod", "api_key": "k"}
    assert OdooSettings.model_validate(base).url == "https://odoo.example.com"
    for changes, words in (
        ({"batch": 5}, "Extra inputs are not permitted"),
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"api_key": " "}, "api_key is empty"),
        ({"protocol": "xmlrpc"}, "set `login`"),
        ({"url": "odoo.example.com"}, "should match pattern"),
        ({"concurrency": 100}, "less than or equal to 16"),
    ):
        with pytest.raises(ValidationError, match=words):
            OdooSettings.model_validate({**base, **changes})


def test_the_key_never_shows_in_settings_or_description() -> None:
    settings = OdooSettings.model_validate({"url": "https://o.example.com", "database": "d", "api_key": "s3cr3t-key"})
    target = OdooTarget("payroll", settings)
    for text in (repr(settings), str(settings), target.describe(), repr(settings.model_dump())):
        assert "s3cr3t-key" not in text
    assert target.describe() == "odoo payroll -> https://o.example.com (database d)"


def _settings(**overrides: Any) -> OdooSettings:
    """Validated settings of an `odoo` target, as `check_columns` receives them."""
    return OdooSettings.model_validate({"url": "https://o.example.com", "database": "d", "api_key": "k", **overrides})


@pytest.mark.parametrize(
    ("columns", "words"),
    [
        (("check_in", "check_out"), "no column `employee`"),
        (("employee", "date"), "no column `check_in`"),
        (("employee", "check_in"), "no column `check_out`"),
        (("employee", "check_out"), "no column `check_in`"),
        (("employee", "intervals", "check_in"), "`intervals` and `check_in` together"),
    ],
)
def test_check_columns_names_what_the_mapping_lacks(columns: tuple[str, ...], words: str) -> None:
    problems = OdooTarget.check_columns(columns, _settings(employee_by="barcode"))
    assert len(problems) == 1 and words in problems[0], problems


def test_check_columns_takes_either_convention_and_other_columns() -> None:
    assert OdooTarget.check_columns(["employee", "check_in", "check_out", "date"], _settings()) == []
    assert OdooTarget.check_columns(["employee", "intervals"], _settings()) == []


def test_the_example_mapping_fits_the_target_in_both_conventions(tmp_path: Path) -> None:
    example = (EXAMPLES / "odoo.yaml").read_text()
    mapping = load_mapping(EXAMPLES / "odoo.yaml")
    assert OdooTarget.check_columns(mapping.columns, _settings(employee_by="barcode")) == []
    every_pair = example.replace(
        "  - {name: check_in, from: first_in}\n  - {name: check_out, from: last_out}\n",
        "  - {name: intervals, from: intervals}\n",
    )
    assert every_pair != example
    (tmp_path / "odoo.yaml").write_text(every_pair)
    assert load_mapping(tmp_path / "odoo.yaml").columns == ("employee", "intervals")


def test_a_push_with_a_mapping_that_does_not_fit_stops_before_sending(target: OdooTarget, odoo: OdooRun) -> None:
    before = odoo.emulator.request_count
    with pytest.raises(FatalTargetError, match="no column `check_out`"):
        target.push(batch(record("A1"), columns=("employee", "check_in")))
    assert odoo.emulator.request_count == before


# -- protocol and login ---------------------------------------------------------------------------------


def test_auto_uses_json_rpc_before_odoo_19_and_json2_from_19(odoo17: OdooRun, odoo19: OdooRun) -> None:
    for run, protocol, path in ((odoo17, "jsonrpc", "/jsonrpc"), (odoo19, "json2", "/json/2/hr.attendance/create")):
        target = OdooTarget("odoo", run.settings())
        try:
            target.push(batch(record("A1")))
        finally:
            target.close()
        assert target.protocol == protocol
        assert run.emulator.requests[path] >= 1
        assert held(run, "A1") == [("2025-10-06 03:30:00", "2025-10-06 12:30:00")]


def test_json2_needs_no_login(odoo19: OdooRun) -> None:
    target = OdooTarget("odoo", odoo19.settings(login=None, protocol="json2"))
    target.open()
    target.close()
    assert odoo19.emulator.calls[("common", "authenticate")] == 0


def test_json_rpc_without_a_login_says_to_set_it(odoo17: OdooRun) -> None:
    target = OdooTarget("odoo", odoo17.settings(login=None, protocol="auto"))
    with pytest.raises(FatalTargetError, match="needs `login`"):
        target.open()


def test_json2_against_odoo_17_says_it_needs_19(odoo17: OdooRun) -> None:
    target = OdooTarget("odoo", odoo17.settings(protocol="json2"))
    with pytest.raises(FatalTargetError, match="JSON-2 needs Odoo 19"):
        target.open()


def test_a_refused_key_is_a_credentials_error_naming_no_secret(odoo: OdooRun) -> None:
    target = OdooTarget("odoo", odoo.settings(api_key="wrong-secret-key"))
    with pytest.raises(CredentialsError) as refused:
        target.open()
    assert "wrong-secret-key" not in str(refused.value)
    assert "api_key" in str(refused.value)


def test_an_unknown_database_is_fatal_and_named(odoo17: OdooRun) -> None:
    target = OdooTarget("odoo", odoo17.settings(database="prod-typo"))
    with pytest.raises(FatalTargetError, match="check `database`"):
        target.open()


def test_the_api_key_never_reaches_the_log(odoo: OdooRun, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    target = OdooTarget("odoo", odoo.settings())
    try:
        target.push(batch(record("A1"), record("A2"), record("ZZ")))
        list(target.pull_employees())
        list(target.read_back(DAY, DAY))
    finally:
        target.close()
    bad = OdooTarget("odoo", odoo.settings(api_key="another-secret"))
    with pytest.raises(CredentialsError):
        bad.open()
    assert caplog.records, "the target logs what it does"
    for secret in (odoo.emulator.api_key, "another-secret"):
        assert secret not in caplog.text


# -- pushing days ----------------------------------------------------------------------------------------


def test_first_push_creates_each_day_in_one_create_after_one_search(target: OdooTarget, odoo: OdooRun) -> None:
    outcomes = target.push(batch(record("A1"), record("A2", check_out=""), record("A1", "2025-10-07", "08:00")))
    assert all(o.ok for o in outcomes)
    assert held(odoo, "A1") == [
        ("2025-10-06 03:30:00", "2025-10-06 12:30:00"),
        ("2025-10-07 02:30:00", "2025-10-07 12:30:00"),
    ]
    assert held(odoo, "A2") == [("2025-10-06 03:30:00", False)]  # no check-out yet: an open interval
    calls = odoo.emulator.calls
    assert calls[("hr.attendance", "search_read")] == 1
    assert calls[("hr.attendance", "create")] == 1
    assert odoo.emulator.deliveries == 3
    assert by_key(outcomes)["A2|2025-10-06|day"].remote_id.startswith("hr.attendance:")


def test_a_resent_batch_changes_nothing(target: OdooTarget, odoo: OdooRun) -> None:
    days = batch(record("A1"), record("A2", check_out=""))
    target.push(days)
    again = target.push(days)
    assert all(o.ok for o in again)
    assert odoo.emulator.deliveries == 2
    assert odoo.emulator.calls[("hr.attendance", "create")] == 1
    assert odoo.emulator.calls[("hr.attendance", "write")] == 0


def test_a_day_that_gets_its_check_out_closes_the_open_interval_with_a_write(target: OdooTarget, odoo: OdooRun) -> None:
    first = target.push(batch(record("A2", check_out="")))
    target.push(batch(record("A2")))
    assert held(odoo, "A2") == [("2025-10-06 03:30:00", "2025-10-06 12:30:00")]
    assert odoo.emulator.calls[("hr.attendance", "write")] == 1
    assert odoo.emulator.deliveries == 2
    assert target.push(batch(record("A2")))[0].remote_id == first[0].remote_id  # the same record, closed


def test_an_earlier_check_in_moves_the_days_interval_instead_of_adding_one(target: OdooTarget, odoo: OdooRun) -> None:
    target.push(batch(record("A1"), record("A1", "2025-10-07")))
    outcomes = target.push(batch(record("A1", check_in="07:30")))
    assert outcomes[0].ok
    assert held(odoo, "A1") == [
        ("2025-10-06 02:00:00", "2025-10-06 12:30:00"),
        ("2025-10-07 03:30:00", "2025-10-07 12:30:00"),
    ]
    assert odoo.emulator.calls[("hr.attendance", "write")] == 1
    assert odoo.emulator.deliveries == 3


def test_a_day_of_several_intervals_is_sent_whole_and_replaced_when_it_changes(
    target: OdooTarget, odoo: OdooRun
) -> None:
    three = (
        "2025-10-06T09:00:00+05:30/2025-10-06T13:00:00+05:30;2025-10-06T13:30:00+05:30/2025-10-06T16:00:00+05:30;"
        "2025-10-06T16:15:00+05:30/"
    )
    columns = ("employee", "intervals")
    assert all(o.ok for o in target.push(batch(record("A1", intervals=three), columns=columns)))
    assert held(odoo, "A1") == [
        ("2025-10-06 03:30:00", "2025-10-06 07:30:00"),
        ("2025-10-06 08:00:00", "2025-10-06 10:30:00"),
        ("2025-10-06 10:45:00", False),
    ]
    two = "2025-10-06T09:00:00+05:30/2025-10-06T13:00:00+05:30;2025-10-06T13:45:00+05:30/2025-10-06T18:00:00+05:30"
    assert all(o.ok for o in target.push(batch(record("A1", intervals=two), columns=columns)))
    assert held(odoo, "A1") == [
        ("2025-10-06 03:30:00", "2025-10-06 07:30:00"),
        ("2025-10-06 08:15:00", "2025-10-06 12:30:00"),
    ]
    assert odoo.emulator.calls[("hr.attendance", "unlink")] == 1
    target.push(batch(record("A1", intervals=""), columns=columns))  # a day with no interval left
    assert held(odoo, "A1") == []


def test_a_refused_row_is_isolated_and_the_rest_lands(target: OdooTarget, odoo: OdooRun) -> None:
    message = odoo.emulator.refuse_employee(odoo.emulator.employee_id("A2"))
    days = [record(e, f"2025-10-{d:02d}") for d in range(6, 16) for e in ("A1", "A2")]
    outcomes = by_key(target.push(batch(*days)))
    refused = {key for key, o in outcomes.items() if not o.ok}
    assert refused == {r.key for r in days if r.fields["employee"] == "A2"}
    for key in refused:
        assert outcomes[key].message == f"Odoo: {message}"
    assert len(held(odoo, "A1")) == 10 and held(odoo, "A2") == []
    assert odoo.emulator.calls[("hr.attendance", "create")] <= 40  # halving, not one call per record


def test_an_overlap_odoo_refuses_is_a_dead_letter_with_odoos_words(target: OdooTarget, odoo: OdooRun) -> None:
    target.push(batch(record("A1", "2025-10-07", "08:00", "")))  # open since the 7th
    outcomes = by_key(target.push(batch(record("A1", "2025-10-08", "09:00", ""), record("A2"))))
    assert not outcomes["A1|2025-10-08|day"].ok
    assert "hasn't checked out since" in outcomes["A1|2025-10-08|day"].message
    assert outcomes["A2|2025-10-06|day"].ok


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"check_in": "", "check_out": "2025-10-06T18:00:00+05:30"}, "without a check_in"),
        ({"check_in": "09:00", "check_out": ""}, "not an ISO-8601 time"),
        ({"check_in": "2025-10-06T09:00:00", "check_out": ""}, "has no UTC offset"),
        ({"check_in": "2025-10-06T18:00:00+05:30", "check_out": "2025-10-06T09:00:00+05:30"}, "is before check-in"),
        ({"check_in": "9" * 100_000, "check_out": ""}, "not an ISO-8601 time"),
        ({"check_in": 930, "check_out": ""}, "not an ISO-8601 time or empty"),
        ({"employee": None}, "not an employee key"),
        ({"employee": "x" * 5000}, "5000 characters"),
        ({"employee": "NOBODY"}, "no employee with barcode 'NOBODY'"),
        ({"intervals": "2025-10-06T09:00:00+05:30"}, "is not start/end"),
        ({"intervals": "2025-10-06T09:00:00+05:30/2025-10-06T13:00:00+05:30;2025-10-06T12:00:00+05:30/"}, "overlap"),
    ],
)
def test_a_record_that_cannot_be_intervals_is_refused_with_a_clear_message(
    target: OdooTarget, odoo: OdooRun, fields: dict[str, Any], words: str
) -> None:
    values = {"employee": "A1", **fields}
    if "intervals" in values:
        columns: tuple[str, ...] = ("employee", "intervals")
    else:
        values.setdefault("check_in", "2025-10-06T09:00:00+05:30")
        values.setdefault("check_out", "")
        columns = COLUMNS
    bad = Record("A1|2025-10-06|day", values, "h")
    outcomes = by_key(target.push(batch(bad, record("A2"), columns=columns)))
    assert not outcomes[bad.key].ok
    assert words in outcomes[bad.key].message
    assert len(outcomes[bad.key].message) < 1000
    assert outcomes["A2|2025-10-06|day"].ok
    assert held(odoo, "A1") == []


def test_two_records_for_one_employee_day_are_both_refused(target: OdooTarget, odoo: OdooRun) -> None:
    one = Record(
        "C001|2025-10-06|day", {"employee": "A1", "check_in": "2025-10-06T09:00:00+05:30", "check_out": ""}, "h"
    )
    two = Record(
        "C001b|2025-10-06|day", {"employee": "A1", "check_in": "2025-10-06T10:00:00+05:30", "check_out": ""}, "h"
    )
    outcomes = target.push(batch(one, two))
    assert [o.ok for o in outcomes] == [False, False]
    assert "two terminal ids for one employee" in outcomes[0].message
    assert held(odoo, "A1") == []


def test_the_same_record_twice_in_a_batch_is_sent_once(target: OdooTarget, odoo: OdooRun) -> None:
    outcomes = target.push(batch(record("A1"), record("A1")))
    assert [o.ok for o in outcomes] == [True]
    assert odoo.emulator.deliveries == 1


def test_employee_by_id_takes_numbers_and_says_which_id_is_unknown(odoo: OdooRun) -> None:
    target = OdooTarget("odoo", odoo.settings(employee_by="id"))
    try:
        outcomes = by_key(target.push(batch(record("1"), record("99"), record("A1"))))
    finally:
        target.close()
    assert outcomes["1|2025-10-06|day"].ok
    assert "no employee with id '99'" in outcomes["99|2025-10-06|day"].message
    assert "not an hr.employee id" in outcomes["A1|2025-10-06|day"].message


def test_an_ambiguous_pin_is_refused(odoo: OdooRun) -> None:
    from punchbridge.plugin_api import Employee

    odoo.emulator.seed_employees([Employee(target_id="A9", name="Dup Pin", pin="4321")])
    target = OdooTarget("odoo", odoo.settings(employee_by="pin"))
    try:
        (outcome,) = target.push(batch(record("4321")))
    finally:
        target.close()
    assert "2 Odoo employees have pin '4321'" in outcome.message


def test_employee_ids_are_fetched_once_per_run(target: OdooTarget, odoo: OdooRun) -> None:
    for n in range(3):
        target.push(batch(record("A1", f"2025-10-{6 + n:02d}"), record("A2", f"2025-10-{6 + n:02d}"), batch_id=n))
    assert odoo.emulator.calls[("hr.employee", "search_read")] == 1


# -- errors of the server ------------------------------------------------------------------------------------


def test_busy_answers_are_rate_limits_with_retry_after(target: OdooTarget, odoo: OdooRun) -> None:
    odoo.emulator.fail_next(1, status=503, retry_after=7)
    with pytest.raises(RateLimitedError) as busy:
        target.push(batch(record("A1")))
    assert busy.value.retry_after == 7
    odoo.emulator.fail_next(1, status=429, retry_after=5000)
    with pytest.raises(RateLimitedError) as slow:
        target.push(batch(record("A1")))
    assert slow.value.retry_after == 300  # capped
    odoo.emulator.fail_next(1, status=502, retry_after=None)
    with pytest.raises(TransientError):
        target.push(batch(record("A1")))
    assert all(o.ok for o in target.push(batch(record("A1"))))
    assert len(held(odoo, "A1")) == 1


def test_an_access_error_stops_the_run(target: OdooTarget, odoo: OdooRun) -> None:
    odoo.emulator.deny("hr.attendance", "create")
    with pytest.raises(FatalTargetError, match="Odoo refused access: You are not allowed to create"):
        target.push(batch(record("A1")))


@pytest.mark.parametrize(
    "body",
    [b"<html><body>Bad gateway page</body></html>", b"", b"\x00\xff garbage", b'{"jsonrpc": "2.0"}', b"[1, 2]"],
)
def test_a_reply_that_is_not_odoos_is_an_error_naming_the_call(target: OdooTarget, odoo: OdooRun, body: bytes) -> None:
    odoo.emulator.reply_next(body, content_type="text/html" if body.startswith(b"<") else "application/json")
    with pytest.raises(FatalTargetError) as broken:
        target.push(batch(record("A1")))
    text = str(broken.value)
    assert "hr.employee.search_read" in text, text
    assert isinstance(broken.value, TargetReplyError), text


def test_a_redirect_names_where_the_server_points() -> None:
    async def moved(request: Request) -> Response:
        return Response(status_code=301, headers={"Location": "https://odoo.example.com/web/webclient/version_info"})

    app = Starlette(routes=[Route("/web/webclient/version_info", moved, methods=["POST"])])
    with serve(app) as server:
        settings = {"url": server.url, "database": "d", "login": "u", "api_key": "k"}
        with pytest.raises(FatalTargetError, match=r"redirects \(301\) to https://odoo\.example\.com"):
            OdooTarget("odoo", settings).open()


def test_an_unreachable_server_is_transient(odoo: OdooRun) -> None:
    target = OdooTarget("odoo", odoo.settings(url="http://127.0.0.1:9"))
    with pytest.raises(TransientError, match="ConnectError"):
        target.open()


def test_a_server_too_slow_for_the_timeout_is_transient() -> None:
    async def slow(request: Request) -> Response:
        await asyncio.sleep(0.3)
        return JSONResponse({})

    app = Starlette(routes=[Route("/web/webclient/version_info", slow, methods=["POST"])])
    with serve(app) as server:
        settings = {"url": server.url, "database": "d", "login": "u", "api_key": "k", "timeout": 0.05}
        with pytest.raises(TransientError, match=r"timed out after 0\.05 s"):
            OdooTarget("odoo", settings).open()


def _hostile(answers: dict[str, Any]) -> Starlette:
    """A JSON-RPC server that logs anyone in and answers `model.method` calls from `answers`."""

    async def jsonrpc(request: Request) -> Response:
        call = (await request.json())["params"]
        if call["service"] == "common":
            return JSONResponse({"jsonrpc": "2.0", "id": 1, "result": 2})
        model, method = call["args"][3], call["args"][4]
        plain = {"hr.attendance.fields_get": {"check_in": {"type": "datetime"}}}  # what every version says
        return JSONResponse({"jsonrpc": "2.0", "id": 1, "result": {**plain, **answers}[f"{model}.{method}"]})

    async def version(request: Request) -> Response:
        return JSONResponse({"jsonrpc": "2.0", "id": 1, "result": {"server_version_info": [17, 0]}})

    return Starlette(
        routes=[
            Route("/jsonrpc", jsonrpc, methods=["POST"]),
            Route("/web/webclient/version_info", version, methods=["POST"]),
        ]
    )


@pytest.mark.parametrize(
    ("answers", "words"),
    [
        ({"hr.employee.search_read": {"id": 1}}, "not a list of records"),
        ({"hr.employee.search_read": [{"id": "1", "barcode": "A1"}]}, "not a record with an id"),
        ({"hr.employee.search_read": [{"id": 1, "barcode": ["A1"]}]}, "barcode is ['A1'], not text"),
        (
            {
                "hr.employee.search_read": [{"id": 1, "barcode": "A1"}],
                "hr.attendance.search_read": [{"id": 5, "employee_id": "Asha", "check_in": "2025-10-06 03:30:00"}],
            },
            "employee_id 'Asha'",
        ),
        (
            {
                "hr.employee.search_read": [{"id": 1, "barcode": "A1"}],
                "hr.attendance.search_read": [{"id": 5, "employee_id": [1, "A"], "check_in": "yesterday"}],
            },
            "check_in is 'yesterday'",
        ),
        (
            {
                "hr.employee.search_read": [{"id": 1, "barcode": "A1"}],
                "hr.attendance.search_read": [],
                "hr.attendance.create": [7, 8],
            },
            "create of 1 records answered [7, 8], not 1 ids",
        ),
    ],
)
def test_hostile_values_in_replies_are_errors_naming_the_field(answers: dict[str, Any], words: str) -> None:
    with serve(_hostile(answers)) as server:
        settings = {"url": server.url, "database": "d", "login": "u", "api_key": "k", "employee_by": "barcode"}
        target = OdooTarget("odoo", settings)
        try:
            with pytest.raises(TargetReplyError) as broken:
                target.push(batch(record("A1")))
        finally:
            target.close()
    assert words in str(broken.value)


def test_a_huge_refusal_message_is_clipped_in_the_dead_letter(target: OdooTarget, odoo: OdooRun) -> None:
    odoo.emulator.refuse_employee(odoo.emulator.employee_id("A1"), "locked " * 100_000)
    (outcome,) = target.push(batch(record("A1")))
    assert not outcome.ok
    assert outcome.message.startswith("Odoo: locked locked")
    assert len(outcome.message) < 700
