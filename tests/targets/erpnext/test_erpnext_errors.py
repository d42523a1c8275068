"""What the `erpnext` target does when the site says no: credentials, rights, throttling, broken replies, secrets."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date

import httpx
import pytest
from support.erpnext_builders import batch_of, day_record

from punchbridge.plugin_api import (
    CredentialsError,
    FatalTargetError,
    RateLimitedError,
    TargetError,
    TargetReplyError,
    TransientError,
)
from punchbridge.plugins.erpnext import ErpNextTarget
from punchbridge.testing.emulators.erpnext import ErpNextEmulator

DAY = "2025-10-06"
JSON = "application/json"


def test_a_wrong_secret_is_a_credentials_error_at_open_without_the_secret(
    make_target: Callable[..., ErpNextTarget], emulator: ErpNextEmulator
) -> None:
    with pytest.raises(CredentialsError, match="refused the API key and secret") as refused:
        make_target(api_secret="wrong0secret0xyz").open()
    assert "wrong0secret0xyz" not in str(refused.value) and emulator.api_key not in str(refused.value)
    assert emulator.calls["add_log"] == 0


def test_an_api_user_without_create_permission_is_a_credentials_error_naming_the_role(
    target: ErpNextTarget, emulator: ErpNextEmulator
) -> None:
    emulator.deny("create")
    with pytest.raises(CredentialsError, match=r"Not permitted to create Employee Checkin.*HR User"):
        target.push(batch_of([day_record("T-1", DAY)]))


def test_the_wrong_check_in_method_for_the_sites_version_stops_the_run_with_the_setting_to_change(
    make_target: Callable[..., ErpNextTarget], emulator: ErpNextEmulator
) -> None:
    with pytest.raises(FatalTargetError, match="checkin_api: hrms") as stopped:
        make_target(checkin_api="erpnext").push(batch_of([day_record("T-1", DAY), day_record("T-2", DAY)]))
    assert "No module named 'erpnext'" in str(stopped.value)
    assert emulator.checkins() == []


def test_throttling_is_rate_limited_and_the_resend_sends_only_what_is_missing(
    make_target: Callable[..., ErpNextTarget], emulator: ErpNextEmulator
) -> None:
    target = make_target(concurrency=1)
    target.push(batch_of([day_record("T-1", DAY)]))
    emulator.throttle(1, retry_after=42, api="add_log")
    batch = batch_of([day_record("T-1", DAY), day_record("T-2", DAY), day_record("T-3", DAY)], batch_id=2)
    with pytest.raises(RateLimitedError) as limited:
        target.push(batch)
    assert limited.value.retry_after == 42 and "TooManyRequestsError" in str(limited.value)
    assert emulator.calls["add_log"] == 3, "after the refusal the batch's other punches were not sent"
    assert all(o.ok for o in target.push(batch))
    assert len(emulator.checkins()) == 6
    assert emulator.calls["add_log"] == 7, "the resend sent only the four punches ERPNext lacked"


@pytest.mark.parametrize(
    ("api", "status", "body", "kind", "error", "words"),
    [
        ("add_log", 502, "<html>Bad Gateway</html>", "text/html", TransientError, "answered HTTP 502 (an HTML page)"),
        ("add_log", 200, "<html>Login</html>", "text/html", TargetReplyError, "an HTML page, not JSON"),
        ("add_log", 200, '{"message": "ok"}', JSON, TargetReplyError, "answered no check-in"),
        ("add_log", 404, '{"exc_type": "DoesNotExistError"}', JSON, FatalTargetError, "answered 404"),
        ("add_log", 302, "", "text/html", FatalTargetError, "redirects (302)"),
        ("checkins", 200, '{"rows": []}', JSON, TargetReplyError, "no `data` list"),
        ("checkins", 200, '{"data": [{"name": "X", "employee": "E", "time": "soon"}]}', JSON, TargetReplyError,
         "has the time 'soon'"),
        ("checkins", 417, '{"exc_type": "DataError", "exception": "frappe.exceptions.DataError: Field not permitted"}',
         JSON, FatalTargetError, "refused the query (DataError: Field not permitted)"),
        ("employees", 500, '{"exc_type": "OperationalError", "_server_messages": "[\\"{\\\\\\"message\\\\\\": \\\\\\"'
         'Deadlock\\\\\\"}\\"]"}', JSON, TransientError, "OperationalError: Deadlock"),
    ],
)  # fmt: skip
def test_what_the_site_answers_becomes_what_the_engine_does_next(
    target: ErpNextTarget,
    emulator: ErpNextEmulator,
    api: str,
    status: int,
    body: str,
    kind: str,
    error: type[TargetError],
    words: str,
) -> None:
    target.open()
    emulator.fail_next(api, status=status, body=body, content_type=kind)
    with pytest.raises(error) as raised:
        target.push(batch_of([day_record("T-1", DAY)]))
    assert words in str(raised.value)
    assert str(raised.value).startswith("target erpnext (ERPNext http://127.0.0.1:")


def test_an_unreachable_site_is_transient(make_target: Callable[..., ErpNextTarget]) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(TransientError, match="ConnectError"):
        make_target(transport=httpx.MockTransport(refuse)).open()


def test_no_secret_reaches_the_log_a_message_or_the_description(
    make_target: Callable[..., ErpNextTarget], emulator: ErpNextEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    target = make_target()
    target.push(batch_of([day_record("T-1", DAY), day_record("T-9", DAY)]))
    list(target.read_back(date(2025, 10, 6), date(2025, 10, 6)))
    list(target.pull_employees())
    with pytest.raises(CredentialsError) as refused:
        make_target(api_secret="another0secret").open()
    shown = caplog.text + str(refused.value) + target.describe() + repr(target.settings) + str(target.settings)
    for secret in (emulator.api_key, emulator.api_secret, "another0secret"):
        assert secret not in shown
    assert "connected as punchbridge@acme.example" in caplog.text
