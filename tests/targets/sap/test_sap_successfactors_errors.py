"""What the SuccessFactors target does when SuccessFactors says no, or says something that is not OData."""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from pydantic import ValidationError
from support.login_retries import RETRY_ATTEMPTS
from support.sap_builders import INTERVALS, batch_of, day_record, intervals_record

from punchbridge.plugin_api import (
    CredentialsError,
    FatalTargetError,
    RateLimitedError,
    TargetError,
    TargetReplyError,
    TransientError,
)
from punchbridge.plugins.sap.successfactors import SuccessFactorsSettings, SuccessFactorsTarget
from punchbridge.testing.emulators.sap import SapEmulator, TestCredentials

DAY = "2025-10-06"
ODATA_ERROR = '{"error": {"code": "COE_GENERAL_SERVER_FAILURE", "message": {"lang": "en-US", "value": "boom"}}}'


def _push(target: SuccessFactorsTarget) -> Any:
    return target.push(batch_of([day_record("T-1", DAY)]))


def test_a_key_successfactors_does_not_know_is_a_credentials_error_tried_once(
    make_target: Callable[..., SuccessFactorsTarget], emulator: SapEmulator, stranger: TestCredentials, tmp_path: Path
) -> None:
    with pytest.raises(CredentialsError) as refused:
        _push(make_target(**stranger.write(tmp_path / "stranger")))
    text = str(refused.value)
    assert "LGN0011" in text and "registered certificate" in text and emulator.company_id in text
    assert emulator.calls["token"] == 1 and emulator.calls["upsert"] == 0


def test_a_wrong_company_is_a_credentials_error(make_target: Callable[..., SuccessFactorsTarget]) -> None:
    with pytest.raises(CredentialsError, match="company 'OTHERCO'"):
        _push(make_target(company_id="OTHERCO"))


def test_a_token_refused_even_when_new_is_a_credentials_error(
    target: SuccessFactorsTarget, emulator: SapEmulator
) -> None:
    refused = '{"error": {"code": "LGN0022", "message": {"lang": "en-US", "value": "[LGN0022]expired"}}}'
    for _ in range(2):
        emulator.fail_next("upsert", status=401, body=refused, content_type="application/json")
    with pytest.raises(CredentialsError, match="even a new one"):
        _push(target)
    assert len(emulator.tokens_issued()) == 2


def test_forbidden_is_a_credentials_error_naming_permissions(
    target: SuccessFactorsTarget, emulator: SapEmulator
) -> None:
    body = '{"error": {"code": "COE_NO_PERMISSION", "message": {"lang": "en-US", "value": "no access"}}}'
    emulator.fail_next("upsert", status=403, body=body, content_type="application/json")
    with pytest.raises(CredentialsError, match="OData API permissions"):
        _push(target)


@pytest.mark.parametrize(("status", "expected"), [(429, RateLimitedError), (503, RateLimitedError)])
def test_slow_down_is_rate_limited_with_retry_after(
    target: SuccessFactorsTarget, emulator: SapEmulator, status: int, expected: type
) -> None:
    emulator.throttle_next("upsert", retry_after=17, status=status)
    with pytest.raises(expected) as raised:
        _push(target)
    assert raised.value.retry_after == 17


def test_a_server_error_is_transient_and_names_what_came_back(
    target: SuccessFactorsTarget, emulator: SapEmulator
) -> None:
    emulator.fail_next("upsert", status=502)
    with pytest.raises(TransientError, match="HTTP 502 \\(an HTML page\\)") as raised:
        _push(target)
    assert not isinstance(raised.value, RateLimitedError)
    emulator.fail_next("upsert", status=500, body=ODATA_ERROR, content_type="application/json")
    with pytest.raises(TransientError, match="COE_GENERAL_SERVER_FAILURE: boom"):
        _push(target)


def test_a_refused_call_is_fatal_with_successfactors_code_and_words(
    target: SuccessFactorsTarget, emulator: SapEmulator
) -> None:
    body = '{"error": {"code": "COE_PROPERTY_NOT_FOUND", "message": {"lang": "en-US", "value": "Invalid property"}}}'
    emulator.fail_next("upsert", status=400, body=body, content_type="application/json")
    with pytest.raises(FatalTargetError, match="HTTP 400, COE_PROPERTY_NOT_FOUND: Invalid property"):
        _push(target)


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        ("<html><body>Maintenance</body></html>", "text/html", "an HTML page, not a JSON object"),
        ("{not json", "application/json", "not a JSON object"),
        ("[]", "application/json", "not a JSON object"),
        ('{"d": {}}', "application/json", "answered no results for 1 records"),
        ('{"d": [{"status": "MAYBE"}]}', "application/json", "without status OK or ERROR"),
        ('{"d": [{"status": "OK", "index": 7}]}', "application/json", "index 7 for 1 records"),
        ('{"d": [{"status": "OK"}, {"status": "OK"}]}', "application/json", "answered 2 results for 1 records"),
    ],
)
def test_a_malformed_upsert_reply_is_a_reply_error_naming_the_api(
    target: SuccessFactorsTarget, emulator: SapEmulator, body: str, content_type: str, message: str
) -> None:
    emulator.fail_next("upsert", status=200, body=body, content_type=content_type)
    with pytest.raises(TargetReplyError, match=message) as raised:
        _push(target)
    assert "upsert ExternalTimeData" in str(raised.value)


@pytest.mark.parametrize(
    ("status", "body", "content_type", "error", "message"),
    [
        (200, "<html>login</html>", "text/html", TargetReplyError, "not a JSON object"),
        (200, '{"token_type": "Bearer"}', "application/json", TargetReplyError, "without access_token"),
        (200, '{"access_token": "x", "expires_in": "soon"}', "application/json", TargetReplyError, "expires_in"),
        (500, "oops", "text/plain", TransientError, "HTTP 500"),
        (400, '{"error": "invalid_grant", "error_description": "bad"}', "application/json", CredentialsError, "bad"),
    ],
)
def test_a_bad_token_reply_is_named(
    target: SuccessFactorsTarget,
    emulator: SapEmulator,
    status: int,
    body: str,
    content_type: str,
    error: type,
    message: str,
) -> None:
    # as often as a login is tried: a 500 is tried again (issue 15), so it is an error only when it stays
    for _ in range(RETRY_ATTEMPTS):
        emulator.fail_next("token", status=status, body=body, content_type=content_type)
    with pytest.raises(error, match=message):
        _push(target)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"d": []}', "without succeededTimeEvents or failedTimeEvents"),
        ('{"succeededTimeEvents": [{"UUID": "u1", "id": "1"}]}', "answered 1 of 2 events"),
        ('{"succeededTimeEvents": [{"UUID": "u1", "id": "1"}, {"UUID": "u2", "id": "1"}]}', "id '1', which was not"),
        ('{"succeededTimeEvents": "all", "failedTimeEvents": []}', "not a list of objects"),
    ],
)
def test_a_time_events_reply_that_does_not_answer_each_event_is_a_reply_error(
    target: SuccessFactorsTarget, emulator: SapEmulator, body: str, message: str
) -> None:
    emulator.fail_next("time_events", status=201, body=body, content_type="application/json")
    with pytest.raises(TargetReplyError, match=message):
        target.push(batch_of([intervals_record("T-1", DAY, "09:00/18:00")], INTERVALS))


def test_a_refused_time_events_call_is_fatal_with_the_apis_errors(
    target: SuccessFactorsTarget, emulator: SapEmulator
) -> None:
    body = '{"status": "BAD_REQUEST", "message": "Request Validation Error", "errors": ["The id must not be blank."]}'
    emulator.fail_next("time_events", status=400, body=body, content_type="application/json")
    with pytest.raises(FatalTargetError, match="Request Validation Error: The id must not be blank"):
        target.push(batch_of([intervals_record("T-1", DAY, "09:00/18:00")], INTERVALS))


def test_a_csrf_token_refused_twice_is_fatal(target: SuccessFactorsTarget, emulator: SapEmulator) -> None:
    for _ in range(2):
        emulator.fail_next("upsert", status=403, body="CSRF token validation failed", content_type="text/plain")
    with pytest.raises(FatalTargetError, match="refused a newly fetched CSRF token"):
        _push(target)


def test_a_csrf_fetch_without_a_token_is_a_reply_error(target: SuccessFactorsTarget, emulator: SapEmulator) -> None:
    emulator.csrf_required = True
    emulator.fail_next("csrf", status=200, body='{"d": {}}', content_type="application/json")
    with pytest.raises(TargetReplyError, match="without an X-CSRF-Token header"):
        _push(target)


def test_an_unreachable_server_is_transient(make_target: Callable[..., SuccessFactorsTarget]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(TransientError, match="connection failed"):
        _push(make_target(api_server=f"http://127.0.0.1:{port}"))


def test_a_next_link_to_another_host_is_not_followed(target: SuccessFactorsTarget, emulator: SapEmulator) -> None:
    body = '{"d": {"results": [], "__next": "https://evil.example/odata/v2/EmpJob?$skiptoken=abc"}}'
    emulator.fail_next("EmpJob", status=200, body=body, content_type="application/json")
    with pytest.raises(TargetReplyError, match=r"outside .*; not following it"):
        list(target.pull_employees())


def test_a_next_link_that_repeats_is_not_followed_forever(
    target: SuccessFactorsTarget, emulator: SapEmulator, server: Any
) -> None:
    following = f"{server.url}/odata/v2/EmpJob?$skiptoken=same"
    body = json.dumps({"d": {"results": [], "__next": following}})
    for _ in range(2):
        emulator.fail_next("EmpJob", status=200, body=body, content_type="application/json")
    with pytest.raises(TargetReplyError, match="the same __next link twice"):
        list(target.pull_employees())


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"d": {"results": [{"startDate": "/Date(0)/"}]}}', "a row without userId"),
        ('{"d": {"results": [{"userId": "T-1", "startDate": "yesterday"}]}}', r"not /Date\(ms\)/"),
        ('{"d": {"results": [7]}}', "a row that is not an object"),
        ('{"d": "nothing"}', "without d.results"),
    ],
)
def test_a_malformed_empjob_page_is_a_reply_error(
    target: SuccessFactorsTarget, emulator: SapEmulator, body: str, message: str
) -> None:
    emulator.fail_next("EmpJob", status=200, body=body, content_type="application/json")
    with pytest.raises(TargetReplyError, match=message):
        list(target.pull_employees())


def test_a_malformed_read_back_row_is_a_reply_error(target: SuccessFactorsTarget, emulator: SapEmulator) -> None:
    body = '{"d": {"results": [{"userId": "T-1", "startDate": "/Date(1759708800000)/", "hours": "eight"}]}}'
    emulator.fail_next("ExternalTimeData", status=200, body=body, content_type="application/json")
    with pytest.raises(TargetReplyError, match="hours 'eight'"):
        list(target.read_back(date(2025, 10, 6), date(2025, 10, 6)))


# -- key files and settings -----------------------------------------------------------------------------


def test_a_missing_key_file_is_fatal_and_named(
    make_target: Callable[..., SuccessFactorsTarget], tmp_path: Path
) -> None:
    with pytest.raises(FatalTargetError, match=r"private_key file .*missing\.pem cannot be read"):
        _push(make_target(private_key=tmp_path / "missing.pem"))


def test_an_encrypted_key_without_its_password_is_a_credentials_error(
    make_target: Callable[..., SuccessFactorsTarget], credentials: TestCredentials, tmp_path: Path
) -> None:
    key = serialization.load_pem_private_key(credentials.key_pem, password=None)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"s3cret-pass"),
    )
    path = tmp_path / "encrypted.pem"
    path.write_bytes(encrypted)
    os.chmod(path, 0o600)
    with pytest.raises(CredentialsError, match="is encrypted"):
        _push(make_target(private_key=path))
    assert _push(make_target(private_key=path, private_key_password="s3cret-pass"))[0].ok


def test_a_key_that_is_not_the_certificates_is_a_credentials_error(
    make_target: Callable[..., SuccessFactorsTarget], stranger: TestCredentials, tmp_path: Path
) -> None:
    other = stranger.write(tmp_path / "other")
    with pytest.raises(CredentialsError, match="does not belong to the private key"):
        _push(make_target(private_key=other["private_key"]))


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"api_server": "http://api4.successfactors.com"}, "must use https"),
        ({"api_server": "https://api4.successfactors.com/odata/v2"}, "without a path"),
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"records_per_call": 1001}, "less than or equal to 1000"),
        ({"time_events": {"per_user": 201}}, "less than or equal to 200"),
        ({"time_events": {"read_back": {"entity": "Time Event"}}}, "should match pattern"),
        ({"time_events": {"types": {"clock_in": "P 10"}}}, "should match pattern"),
        ({"time_events": {"terminal_id": "T" * 31}}, "at most 30 characters"),
        ({"hours_decimals": 7}, "less than or equal to 6"),
        ({"colour": "blue"}, "Extra inputs are not permitted"),
    ],
)
def test_bad_settings_are_refused_at_validation(settings: dict, override: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SuccessFactorsSettings.model_validate({**settings, **override})


# -- secrets --------------------------------------------------------------------------------------------


def test_secrets_never_reach_the_log_a_message_or_describe(
    make_target: Callable[..., SuccessFactorsTarget],
    emulator: SapEmulator,
    credentials: TestCredentials,
    stranger: TestCredentials,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    emulator.csrf_required = True  # so the session cookie and CSRF token are in play too
    target = make_target()
    target.push(batch_of([day_record("T-1", DAY), day_record("T-9", DAY)]))
    emulator.expire_tokens()
    emulator.end_sessions()
    list(target.pull_employees())
    list(target.read_back(date(2025, 10, 6), date(2025, 10, 7), ["T-1"]))
    target.push(batch_of([day_record("T-2", DAY)], batch_id=2))
    errors: list[TargetError] = []
    with pytest.raises(CredentialsError) as refused:
        _push(make_target(**stranger.write(tmp_path / "stranger")))
    errors.append(refused.value)
    shown = caplog.text + " ".join(map(str, errors)) + target.describe() + repr(target.settings)
    secrets = [*emulator.tokens_issued(), *emulator.csrf_tokens(), *emulator.session_ids()]
    assert len(emulator.tokens_issued()) == 2 and len(emulator.csrf_tokens()) == 2
    assert "[redacted]" in caplog.text, "httpcore's trace did print the session headers, blanked"
    for secret in secrets:
        assert secret not in shown
    for pem in (credentials.key_pem, stranger.key_pem):
        body = b"".join(pem.splitlines()[1:-1]).decode()
        assert body[:40] not in shown and body[-40:] not in shown
    assert "PHNhbWwy" not in shown and "saml2:Assertion" not in shown, "no assertion, encoded or not"
    assert "new access token" in caplog.text, "the log did record the token renewals"
