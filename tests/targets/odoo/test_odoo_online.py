"""`punchbridge validate --online` for Odoo: a read-only login, the rights punchbridge needs, the API key's expiry."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from support.odoo_servers import OdooRun, running_odoo

from punchbridge.plugin_api import OnlineCheck
from punchbridge.plugins.odoo import OdooTarget


def _checks(run: OdooRun, **settings: object) -> dict[str, OnlineCheck]:
    target = OdooTarget("odoo", run.settings(**settings))
    return {check.what: check for check in target.check_online()}


@pytest.fixture(params=[("18.0", "jsonrpc"), ("19.0", "json2")], ids=["18.0-jsonrpc", "19.0-json2"])
def recent(request: pytest.FixtureRequest) -> Iterator[OdooRun]:
    version, protocol = request.param
    with running_odoo(version, protocol) as run:
        yield run


def test_a_fit_user_passes_every_check_and_nothing_is_written(odoo: OdooRun) -> None:
    checks = _checks(odoo)
    assert list(checks) == [
        "login",
        "read hr.employee",
        "read hr.attendance",
        "create hr.attendance",
        "write hr.attendance",
        "delete hr.attendance",
        "API key expiry",
    ]
    assert all(check.ok and not check.warning for check in checks.values()), checks
    assert odoo.emulator.attendances() == [] and odoo.emulator.deliveries == 0


def test_keys_of_odoo_17_do_not_expire(odoo17: OdooRun) -> None:
    assert _checks(odoo17)["API key expiry"].message == "Odoo 17 API keys do not expire"


def test_a_key_that_expires_within_two_weeks_is_a_warning(recent: OdooRun) -> None:
    recent.emulator.set_api_key_expiry(datetime.now(UTC) + timedelta(days=10, hours=1))
    expiry = _checks(recent)["API key expiry"]
    assert expiry.ok and expiry.warning
    assert "in 10 days" in expiry.message and "create a new key" in expiry.message


def test_a_key_that_expires_later_is_only_noted(recent: OdooRun) -> None:
    recent.emulator.set_api_key_expiry(datetime.now(UTC) + timedelta(days=60, hours=1))
    expiry = _checks(recent)["API key expiry"]
    assert expiry.ok and not expiry.warning
    assert "key 'punchbridge' expires on" in expiry.message and "in 60 days" in expiry.message


def test_an_expired_key_fails_the_login_and_says_expired_keys_look_wrong(recent: OdooRun) -> None:
    recent.emulator.set_api_key_expiry(datetime.now(UTC) - timedelta(hours=1))
    (login,) = _checks(recent).values()
    assert login.what == "login" and not login.ok
    assert "An expired API key" in login.message and "three months" in login.message
    assert recent.emulator.api_key not in login.message


def test_missing_rights_are_named_without_writing(odoo: OdooRun) -> None:
    odoo.emulator.deny("hr.attendance", "create")
    odoo.emulator.deny("hr.employee", "search_read")
    checks = _checks(odoo)
    assert not checks["create hr.attendance"].ok
    assert "Attendances / Officer" in checks["create hr.attendance"].message
    assert not checks["read hr.employee"].ok
    assert checks["write hr.attendance"].ok
    assert odoo.emulator.attendances() == []
