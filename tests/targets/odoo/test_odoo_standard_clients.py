"""Odoo's standard Python clients work against the emulator: the cheapest check that it speaks Odoo.

`odoorpc` (JSON-RPC: `/web/webclient/version_info`, `common.login`, `res.users.context_get`, then
`fields_get` on each model it touches) and Odoo's own `odoo-client-lib` (`odoolib`: the historical
`/xmlrpc/common` and `/xmlrpc/object`, `/jsonrpc`, and JSON-2 with `Authorization: Bearer` and
`X-Odoo-Database`) log in, read, create and meet Odoo's refusals as they would on a real server.
Both are test dependencies only (pyproject's `test` extra).
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import odoolib
import odoorpc
import pytest
from odoolib.tools import JsonRPCException
from support.odoo_servers import OdooRun, running_odoo

ASHA = 1


def _host_port(run: OdooRun) -> tuple[str, int]:
    parts = urlsplit(run.url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


@pytest.fixture(params=["17.0", "19.0"])
def odoo_any(request: pytest.FixtureRequest) -> Iterator[OdooRun]:
    with running_odoo(request.param, "auto") as run:
        yield run


def test_odoorpc_logs_in_reads_creates_and_meets_odoos_refusal(odoo_any: OdooRun) -> None:
    emulator = odoo_any.emulator
    host, port = _host_port(odoo_any)
    client = odoorpc.ODOO(host, port=port)
    assert client.version == emulator.version
    client.login(emulator.database, emulator.login, emulator.api_key)
    assert client.env.uid == 2 and client.env.context["tz"] == "UTC"
    attendance = client.env["hr.attendance"]  # odoorpc asks fields_get here
    assert "check_in" in attendance._columns
    created = attendance.create({"employee_id": ASHA, "check_in": "2025-10-06 03:30:00"})
    rows = attendance.search_read([("employee_id", "=", ASHA)], ["check_in", "check_out", "create_uid"])
    assert [(r["id"], r["check_in"], r["check_out"], r["create_uid"][0]) for r in rows] == [
        (created, "2025-10-06 03:30:00", False, 2)
    ]
    with pytest.raises(odoorpc.error.RPCError, match="hasn't checked out since"):
        attendance.create({"employee_id": ASHA, "check_in": "2025-10-07 03:30:00"})


def test_odoorpc_is_told_a_wrong_key() -> None:
    with running_odoo("17.0", "auto") as run:
        host, port = _host_port(run)
        client = odoorpc.ODOO(host, port=port)
        with pytest.raises(odoorpc.error.RPCError, match="Wrong login ID or password"):
            client.login(run.emulator.database, run.emulator.login, "not-the-key")


@pytest.mark.parametrize("protocol", ["xmlrpc", "jsonrpc"])
def test_odoo_client_lib_over_rpc_logs_in_searches_reads_and_creates(protocol: str) -> None:
    with running_odoo("17.0", protocol) as run:
        emulator = run.emulator
        host, port = _host_port(run)
        connection = odoolib.get_connection(
            hostname=host,
            port=port,
            protocol=protocol,
            database=emulator.database,
            login=emulator.login,
            password=emulator.api_key,
        )
        connection.check_login()
        assert connection.user_id == 2
        assert connection.get_user_context()["lang"] == "en_US"
        employees = connection.get_model("hr.employee")
        assert employees.search([("barcode", "=", "A1")]) == [ASHA]
        assert employees.search_read([("barcode", "=", "A1")], ["name"]) == [{"id": ASHA, "name": "Asha Rao"}]
        attendance = connection.get_model("hr.attendance")
        new = attendance.create({"employee_id": ASHA, "check_in": "2025-10-06 03:30:00", "check_out": False})
        assert attendance.read([new], ["check_in"]) == [{"id": new, "check_in": "2025-10-06 03:30:00"}]
        refused = (JsonRPCException, Exception) if protocol == "jsonrpc" else Exception
        with pytest.raises(refused, match="hasn't checked out since"):
            attendance.create({"employee_id": ASHA, "check_in": "2025-10-07 03:30:00"})
        assert requests_to(run, "/xmlrpc/2/object") == 0  # odoolib speaks the historical path


def requests_to(run: OdooRun, path: str) -> int:
    return run.emulator.requests[path]


def test_odoo_client_lib_over_json2_logs_in_and_calls_with_named_arguments() -> None:
    with running_odoo("19.0", "json2") as run:
        emulator = run.emulator
        host, port = _host_port(run)
        connection = odoolib.get_connection(
            hostname=host, port=port, protocol="json2", database=emulator.database, password=emulator.api_key
        )
        assert connection.check_login() is True
        assert connection.get_user_context()["uid"] == 2
        employees = connection.get_model("hr.employee")
        found = employees.search_read(domain=[["barcode", "=", "A2"]], fields=["name"])
        assert found == [{"id": 2, "name": "Ben Okafor"}]
        attendance = connection.get_model("hr.attendance")
        (new,) = attendance.create(vals_list=[{"employee_id": ASHA, "check_in": "2025-10-06 03:30:00"}])
        assert attendance.read(ids=[new], fields=["check_out"]) == {"id": new, "check_out": False}
        with pytest.raises(ValueError, match="hasn't checked out since"):
            attendance.create(vals_list=[{"employee_id": ASHA, "check_in": "2025-10-07 03:30:00"}])
        bad = odoolib.get_connection(
            hostname=host, port=port, protocol="json2", database=emulator.database, password="wrong"
        )
        assert bad.check_login() is False
