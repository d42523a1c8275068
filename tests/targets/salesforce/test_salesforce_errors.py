"""What the `salesforce` target does when Salesforce says no: logins, sessions, limits, broken replies, secrets."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from support.login_retries import RETRY_ATTEMPTS
from support.salesforce_builders import batch_of, day_record

from punchbridge.plugin_api import (
    CredentialsError,
    FatalTargetError,
    RateLimitedError,
    TargetError,
    TargetReplyError,
    TransientError,
)
from punchbridge.plugins.salesforce import SalesforceTarget
from punchbridge.testing.emulators.salesforce import SalesforceEmulator, SalesforceLimits, generate_jwt_key
from punchbridge.testing.emulators.zoho import ManualClock
from punchbridge.testing.http import serve

DAY = "2025-10-06"
JSON = "application/json"


# -- logging in ------------------------------------------------------------------------------------------


def test_a_key_the_connected_app_does_not_know_is_a_credentials_error_at_open(
    make_target: Callable[..., SalesforceTarget], tmp_path: Path, emulator: SalesforceEmulator
) -> None:
    stranger, _ = generate_jwt_key()
    (tmp_path / "other.key").write_bytes(stranger)
    with pytest.raises(CredentialsError, match=r"invalid_grant: invalid assertion.*certificate uploaded"):
        make_target(private_key=tmp_path / "other.key").open()
    assert emulator.api_requests == 0


def test_a_wrong_client_secret_is_a_credentials_error_without_the_secret(
    make_target: Callable[..., SalesforceTarget], emulator: SalesforceEmulator
) -> None:
    with pytest.raises(CredentialsError) as refused:
        make_target(auth="client_credentials", client_secret="WRONG-SECRET-123").open()
    assert "invalid_client" in str(refused.value) and emulator.client_id in str(refused.value)
    assert "WRONG-SECRET-123" not in str(refused.value)


@pytest.mark.parametrize(
    ("contents", "passphrase", "words"),
    [
        (None, None, "cannot be read"),
        (b"-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n", None, "is not a PEM private key"),
        ("encrypted", None, "is encrypted: set private_key_passphrase"),
        ("ec", None, "signs with RSA"),
    ],
)
def test_a_private_key_that_cannot_be_used_is_named_never_shown(
    make_target: Callable[..., SalesforceTarget], tmp_path: Path, contents: Any, passphrase: str | None, words: str
) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    path = tmp_path / "app.key"
    if contents == "encrypted":
        key_pem, _ = generate_jwt_key()
        key = serialization.load_pem_private_key(key_pem, None)
        contents = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"pw")
        )
    elif contents == "ec":
        contents = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    if contents is not None:
        path.write_bytes(contents)
    with pytest.raises(FatalTargetError, match=words) as refused:
        make_target(private_key=path).open()
    assert str(path) in str(refused.value)
    assert "not a key" not in str(refused.value) and "MII" not in str(refused.value), "the key's content is never shown"


def test_an_ended_session_is_renewed_once_and_the_call_goes_through(
    target: SalesforceTarget, emulator: SalesforceEmulator
) -> None:
    assert target.push(batch_of([day_record("T-1", DAY)]))[0].ok
    emulator.expire_tokens()
    assert target.push(batch_of([day_record("T-2", DAY)], batch_id=2))[0].ok
    assert emulator.tokens_issued == 2


def test_a_session_refused_even_when_new_is_a_credentials_error(
    target: SalesforceTarget, emulator: SalesforceEmulator
) -> None:
    invalid = '[{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]'
    target.open()
    emulator.fail_next("describe", status=401, body=invalid, content_type=JSON)
    emulator.fail_next("describe", status=401, body=invalid, content_type=JSON)
    with pytest.raises(CredentialsError, match=r"refused a new session \(INVALID_SESSION_ID"):
        target.push(batch_of([day_record("T-1", DAY)]))
    assert emulator.tokens_issued == 2


# -- limits ----------------------------------------------------------------------------------------------


def test_the_used_up_daily_allowance_stops_the_run_with_what_to_do(
    clock: ManualClock, key_pair: tuple[Path, bytes]
) -> None:
    emulator = SalesforceEmulator(certificate=key_pair[1], clock=clock, limits=SalesforceLimits(daily_api_requests=2))
    with serve(emulator.app) as server:
        target = SalesforceTarget("sf", emulator.plugin_settings(server.url, private_key=key_pair[0]), clock=clock)
        try:
            list(target.read_back(date(2025, 10, 6), date(2025, 10, 6)))  # describe and one query: the allowance
            with pytest.raises(FatalTargetError, match="nothing of it was sent") as stopped:
                target.push(batch_of([day_record("T-1", DAY)]))
            target.api.used = 0  # type: ignore[union-attr] - as if the usage header had been lost: Salesforce says no
            with pytest.raises(FatalTargetError, match="allowance for the last 24 hours is used up") as refused:
                target.push(batch_of([day_record("T-1", DAY)]))
        finally:
            target.close()
    assert "0 of its 2 left" in str(stopped.value)
    assert "TotalRequests Limit exceeded" in str(refused.value)
    assert emulator.records() == []


def test_too_many_concurrent_requests_is_rate_limited_not_fatal(
    target: SalesforceTarget, emulator: SalesforceEmulator
) -> None:
    busy = '[{"message": "ConcurrentPerOrgLongTxn Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]'
    target.open()
    emulator.fail_next("describe", status=403, body=busy, content_type=JSON)
    with pytest.raises(RateLimitedError) as limited:
        target.push(batch_of([day_record("T-1", DAY)]))
    assert limited.value.retry_after == 60
    assert "ConcurrentPerOrgLongTxn" in str(limited.value)


@pytest.mark.parametrize(
    ("api", "status", "body", "kind", "error", "words"),
    [
        ("upsert", 503, "<html>Maintenance</html>", "text/html", TransientError, "answered HTTP 503 (an HTML page)"),
        ("upsert", 500, '[{"errorCode": "UNKNOWN_EXCEPTION", "message": "boom"}]', JSON, TransientError, "UNKNOWN_EXC"),
        ("upsert", 200, "<html>Login</html>", "text/html", TargetReplyError, "is an HTML page, not JSON"),
        ("upsert", 200, '[{"success": true, "id": "a0B1"}]', JSON, TargetReplyError, "1 results for 2 records"),
        ("upsert", 200, '{"records": []}', JSON, TargetReplyError, "has dict for 2 records"),
        ("upsert", 200, '[{"id": "a"}, {"id": "b"}]', JSON, TargetReplyError, "result 0 has no `success` flag"),
        ("upsert", 200, '[{"success": true}, {"success": true}]', JSON, TargetReplyError, "without an id"),
        ("upsert", 400, '[{"errorCode": "JSON_PARSER_ERROR", "message": "bad"}]', JSON, FatalTargetError,
         "JSON_PARSER"),
        ("upsert", 403, '[{"errorCode": "API_DISABLED_FOR_ORG", "message": "API is not enabled"}]', JSON,
         FatalTargetError, "API Enabled permission"),
        ("describe", 404, '[{"errorCode": "NOT_FOUND", "message": "gone"}]', JSON, FatalTargetError, "check `object`"),
        ("describe", 200, '{"name": "Attendance_Day__c"}', JSON, TargetReplyError, "no `fields` list"),
        ("describe", 200, '{"fields": [{"name": "Punchbridge_Key__c", "externalId": false}]}', JSON, FatalTargetError,
         "is not an External ID field"),
    ],
)  # fmt: skip
def test_what_salesforce_answers_becomes_what_the_engine_does_next(
    target: SalesforceTarget,
    emulator: SalesforceEmulator,
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
        target.push(batch_of([day_record("T-1", DAY), day_record("T-2", DAY)]))
    assert words in str(raised.value)
    assert str(raised.value).startswith("target salesforce (Salesforce Attendance_Day__c)")


@pytest.mark.parametrize(
    ("status", "body", "kind", "error", "words"),
    [
        (500, "oops", "text/plain", TransientError, "got HTTP 500"),
        (200, "<html>SSO</html>", "text/html", TargetReplyError, "with an HTML page, not JSON"),
        (200, '{"access_token": "00D!x"}', JSON, TargetReplyError, "lacks access_token or instance_url"),
        (200, '{"access_token": "00D!x", "instance_url": "http://acme.example.com"}', JSON, TargetReplyError,
         "must use https"),
        (400, '{"error": "inactive_user", "error_description": "user is inactive"}', JSON, CredentialsError,
         "deactivated"),
    ],
)  # fmt: skip
def test_what_the_token_endpoint_answers_becomes_what_the_engine_does_next(
    target: SalesforceTarget,
    emulator: SalesforceEmulator,
    status: int,
    body: str,
    kind: str,
    error: type[TargetError],
    words: str,
) -> None:
    # as often as a login is tried: a 500 is tried again (issue 15), so it is an error only when it stays
    for _ in range(RETRY_ATTEMPTS):
        emulator.fail_next("token", status=status, body=body, content_type=kind)
    with pytest.raises(error, match=words):
        target.open()


def test_a_query_reply_without_records_or_a_next_page_is_a_reply_error(
    make_target: Callable[..., SalesforceTarget],
) -> None:
    pages = [{"done": True}, {"records": [], "done": False}, {"records": ["x"], "done": True}]

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json={"access_token": "00D!t", "instance_url": "https://acme.my.salesforce.com"})
        return httpx.Response(200, json=pages.pop(0))

    target = make_target(transport=httpx.MockTransport(answer))
    for words in ("no `records` list", "has no nextRecordsUrl", "is not an object"):
        with pytest.raises(TargetReplyError, match=words):
            list(target.pull_employees())


def test_an_unreachable_org_is_transient(make_target: Callable[..., SalesforceTarget]) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(TransientError, match="ConnectError"):
        make_target(transport=httpx.MockTransport(refuse)).open()


# -- secrets ---------------------------------------------------------------------------------------------


def test_no_secret_reaches_the_log_a_message_or_the_description(
    make_target: Callable[..., SalesforceTarget],
    emulator: SalesforceEmulator,
    key_pair: tuple[Path, bytes],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    jwt = make_target()
    jwt.push(batch_of([day_record("T-1", DAY), day_record("T-9", DAY, Status__c="x" * 99)]))
    emulator.expire_tokens()
    list(jwt.read_back(date(2025, 10, 6), date(2025, 10, 6), ["T-1"]))
    list(jwt.pull_employees())
    credentials = make_target(auth="client_credentials", client_secret=emulator.client_secret, bulk_threshold=1)
    credentials.push(batch_of([day_record("T-2", DAY)]))
    with pytest.raises(CredentialsError) as refused:
        make_target(auth="client_credentials", client_secret="ANOTHER-SECRET-XYZ").open()
    key_text = key_pair[0].read_text()
    secrets = [emulator.client_secret, "ANOTHER-SECRET-XYZ", *emulator.access_tokens()]
    secrets += [line for line in key_text.splitlines() if "PRIVATE KEY" not in line]
    assert len(emulator.access_tokens()) == 3
    shown = caplog.text + str(refused.value) + jwt.describe() + repr(jwt.settings) + credentials.describe()
    shown += repr(credentials.settings) + json.dumps(credentials.settings.model_dump(mode="json"))
    for secret in secrets:
        assert secret not in shown
    assert "new Salesforce session" in caplog.text  # the log did record the logins
