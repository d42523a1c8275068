"""What the Zoho People target does when Zoho says no: credentials, tokens, throttling, malformed replies."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date

import httpx
import pytest
from support.zoho_builders import STAFF, batch_of, day_record

from punchbridge.plugin_api import CredentialsError, FatalTargetError, RateLimitedError, TargetError, TransientError
from punchbridge.plugins import zoho_people as plugin
from punchbridge.plugins.zoho_people import ZohoPeopleTarget
from punchbridge.testing.emulators.zoho import ManualClock, NoDelayHttp, ZohoEmulator
from punchbridge.testing.http import serve

DAY = "2025-10-06"


def _json(body: str) -> dict[str, object]:
    return {"status": 200, "content_type": "application/json", "body": body}


def test_a_wrong_client_secret_is_a_credentials_error_without_the_secret(
    make_target: Callable[..., ZohoPeopleTarget], emulator: ZohoEmulator
) -> None:
    with pytest.raises(CredentialsError) as refused:
        make_target(client_secret="wrong-secret-value").push(batch_of([day_record("T-1", DAY)]))
    assert "invalid_client" in str(refused.value) and emulator.client_id in str(refused.value)
    assert "wrong-secret-value" not in str(refused.value)
    assert emulator.calls["bulkImport"] == 0


def test_a_revoked_refresh_token_is_a_credentials_error(make_target: Callable[..., ZohoPeopleTarget]) -> None:
    with pytest.raises(CredentialsError, match="refused the refresh token"):
        make_target(refresh_token="1000.revoked.token").push(batch_of([day_record("T-1", DAY)]))


def test_one_token_serves_several_runs_in_one_process(
    make_target: Callable[..., ZohoPeopleTarget], emulator: ZohoEmulator
) -> None:
    for number in range(3):
        run = make_target()
        run.push(batch_of([day_record("T-1", f"2025-10-{number + 6:02d}")], batch_id=number))
        run.close()
    assert emulator.tokens_minted == 1


def test_an_expired_token_is_renewed_once_and_the_call_goes_through(
    target: ZohoPeopleTarget, emulator: ZohoEmulator
) -> None:
    target.push(batch_of([day_record("T-1", DAY)]))
    emulator.expire_tokens()
    assert target.push(batch_of([day_record("T-2", DAY)], batch_id=2))[0].ok
    assert emulator.tokens_minted == 2


def test_the_cached_token_is_renewed_before_zoho_would_expire_it(
    target: ZohoPeopleTarget, emulator: ZohoEmulator, clock: ManualClock
) -> None:
    target.push(batch_of([day_record("T-1", DAY)]))
    clock.advance(3600 - 30)
    assert target.push(batch_of([day_record("T-2", DAY)], batch_id=2))[0].ok
    assert emulator.tokens_minted == 2
    assert emulator.calls["bulkImport"] == 2, "no call was wasted on a token about to expire"


def test_a_token_refused_even_when_new_is_a_credentials_error(target: ZohoPeopleTarget, emulator: ZohoEmulator) -> None:
    invalid = '{"response": {"status": 1, "errors": {"code": 7202, "message": "Invalid OAuth token"}}}'
    emulator.fail_next("bulkImport", **_json(invalid))  # type: ignore[arg-type]
    emulator.fail_next("bulkImport", **_json(invalid))  # type: ignore[arg-type]
    with pytest.raises(CredentialsError, match="refused a newly minted access token"):
        target.push(batch_of([day_record("T-1", DAY)]))
    assert emulator.tokens_minted == 2


def test_too_many_tokens_is_rate_limited_not_a_credentials_error(
    make_target: Callable[..., ZohoPeopleTarget], emulator: ZohoEmulator
) -> None:
    for _ in range(10):  # ten runs in ten processes within ten minutes, each minting a token
        plugin.clear_token_cache()
        next(make_target().pull_employees())
    plugin.clear_token_cache()
    with pytest.raises(RateLimitedError, match="too many access tokens") as limited:
        make_target().pull_employees().__next__()
    assert limited.value.retry_after == 600


def test_a_permission_refusal_is_a_credentials_error(target: ZohoPeopleTarget, emulator: ZohoEmulator) -> None:
    denied = '{"response": {"status": 1, "errors": {"code": 7040, "message": "Permission denied to view records"}}}'
    emulator.fail_next("getRecords", **_json(denied))  # type: ignore[arg-type]
    with pytest.raises(CredentialsError, match="Permission denied to view records"):
        list(target.pull_employees())


@pytest.mark.parametrize("http_status", [200, 429])
def test_a_zoho_throttle_is_rate_limited_with_the_lock_time(
    clock: ManualClock, tmp_path: object, http_status: int
) -> None:
    emulator = ZohoEmulator(clock=clock, throttle_http_status=http_status)
    emulator.seed_employees(STAFF)
    with serve(emulator.app, http=NoDelayHttp) as server, httpx.Client(base_url=server.url) as other:
        token = other.post(
            "/oauth/v2/token",
            data={
                "grant_type": "refresh_token",
                "client_id": emulator.client_id,
                "client_secret": emulator.client_secret,
                "refresh_token": emulator.refresh_token,
            },
        ).json()["access_token"]
        for _ in range(11):  # another integration of the organisation sets off the lock
            other.post(
                "/people/api/attendance/bulkImport",
                data={"data": "[]"},
                headers={"Authorization": f"Zoho-oauthtoken {token}"},
            )
        settings = emulator.plugin_settings(server.url, state_file=f"{tmp_path}/state.sqlite3")
        target = ZohoPeopleTarget("zoho", settings, clock=clock, sleep=clock.sleep)
        try:
            with pytest.raises(RateLimitedError) as limited:
                target.push(batch_of([day_record("T-1", DAY)]))
        finally:
            target.close()
    assert limited.value.retry_after == 300
    assert "bulkImport" in str(limited.value)


@pytest.mark.parametrize(
    ("reply", "error", "says"),
    [
        ({"status": 502, "body": "<html><body>Bad Gateway</body></html>"}, TransientError, "HTTP 502 (an HTML page)"),
        ({"status": 200, "body": "<html>Sign in</html>"}, FatalTargetError, "HTTP 200 with an HTML page"),
        ({"status": 404, "body": "Not Found", "content_type": "text/plain"}, FatalTargetError, "check api_domain"),
        ({"status": 401, "body": "<html>no</html>"}, CredentialsError, "HTTP 401"),
    ],
)
def test_bulk_import_replies_that_are_not_zohos_are_target_errors_naming_the_api(
    target: ZohoPeopleTarget, emulator: ZohoEmulator, reply: dict[str, object], error: type, says: str
) -> None:
    emulator.fail_next("bulkImport", content_type=str(reply.pop("content_type", "text/html")), **reply)  # type: ignore[arg-type]
    with pytest.raises(error) as raised:
        target.push(batch_of([day_record("T-1", DAY)]))
    assert isinstance(raised.value, TargetError)
    assert "bulkImport" in str(raised.value) and says in str(raised.value)


@pytest.mark.parametrize(
    "body",
    [
        '{"response": {"status": 0}}',
        '{"response": {"status": 0, "message": "Data imported", "errorDates": []}}',
        '{"response": {"status": 0, "result": [{"status": "success"}]}}',
        '{"response": {"status": 0, "result": [{"status": "ok"}, {"status": "success"}]}}',
        "[1, 2, 3]",
        '{"response": "nope"}',
    ],
)
@pytest.mark.parametrize("stored", [True, False], ids=["zoho-took-them", "zoho-did-not"])
def test_a_bulk_import_reply_that_does_not_say_what_zoho_took_is_confirmed_by_reading_the_day_back(
    target: ZohoPeopleTarget, emulator: ZohoEmulator, body: str, stored: bool
) -> None:
    emulator.fail_next("bulkImport", after_apply=stored, **_json(body))  # type: ignore[arg-type]
    (outcome,) = target.push(batch_of([day_record("T-1", DAY)]))
    assert emulator.calls["getAttendanceEntries"] == 1, "the day is read back, not trusted nor refused"
    if stored:
        assert outcome.ok
    else:
        message = str(outcome.message)
        assert not outcome.ok and "which does not say which punches Zoho took" in message
        assert (
            "getAttendanceEntries does not show check-in 2025-10-06 09:00:00, check-out 2025-10-06 18:00:00" in message
        )
        assert "not counted delivered" in message
        assert target.push(batch_of([day_record("T-1", DAY)], batch_id=2))[0].ok, "a retry sends what was missing"
    assert emulator.duplicate_punches == 0


def test_a_refusal_without_a_code_is_the_days_dead_letter_in_zohos_words(
    target: ZohoPeopleTarget, emulator: ZohoEmulator
) -> None:
    emulator.fail_next("bulkImport", **_json('{"response": {"status": 1, "message": "Oops"}}'))  # type: ignore[arg-type]
    (outcome,) = target.push(batch_of([day_record("T-1", DAY)]))
    assert not outcome.ok and "Oops" in str(outcome.message)
    assert emulator.days() == {}


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ('{"response": {"status": 0}}', "without response.result"),
        ('{"response": {"status": 0, "result": [{"1": []}]}}', "record 1 has no fields"),
        ('{"response": {"status": 0, "result": ["x"]}}', "is not {recordId: [fields]}"),
        ('{"response": {"status": 0, "result": [{"1": [{"FirstName": "A"}]}]}}', "record 1 has no EmployeeID"),
    ],
)
def test_malformed_employee_pages_are_fatal_naming_the_api(
    target: ZohoPeopleTarget, emulator: ZohoEmulator, body: str, says: str
) -> None:
    emulator.fail_next("getRecords", **_json(body))  # type: ignore[arg-type]
    with pytest.raises(FatalTargetError) as raised:
        list(target.pull_employees())
    assert "getRecords" in str(raised.value) and says in str(raised.value)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ('{"entries": "none"}', "without a list of entries"),
        ('{"entries": [{"checkIn": "tomorrow"}]}', "cannot read: 'tomorrow'"),
        ('{"entries": [7]}', "not an object"),
    ],
)
def test_malformed_read_back_replies_are_fatal(
    target: ZohoPeopleTarget, emulator: ZohoEmulator, body: str, says: str
) -> None:
    emulator.fail_next("getAttendanceEntries", **_json(body))  # type: ignore[arg-type]
    with pytest.raises(FatalTargetError) as raised:
        list(target.read_back(date(2025, 10, 6), date(2025, 10, 6), ["T-1"]))
    assert "getAttendanceEntries" in str(raised.value) and says in str(raised.value)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("<html>maintenance</html>", "not a JSON object"),
        ('{"token_type": "Bearer"}', "lacks access_token"),
        ('{"access_token": "x", "expires_in": 3600, "api_domain": "ftp://example"}', "api_domain"),
    ],
)
def test_malformed_token_replies_are_fatal(
    make_target: Callable[..., ZohoPeopleTarget], body: str, says: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def token_reply(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text=body, headers={"content-type": "application/json"})

    target = make_target(accounts_url="https://accounts.zoho.eu")
    target.transport = httpx.MockTransport(token_reply)
    with pytest.raises(FatalTargetError, match=says):
        target.push(batch_of([day_record("T-1", DAY)]))


def test_an_unreachable_zoho_is_transient(make_target: Callable[..., ZohoPeopleTarget]) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    target = make_target(accounts_url="https://accounts.zoho.in")
    target.transport = httpx.MockTransport(refuse)
    with pytest.raises(TransientError, match=r"token request to the accounts server .*: the connection failed"):
        target.push(batch_of([day_record("T-1", DAY)]))


def test_the_mapping_must_fit_before_anything_is_sent(target: ZohoPeopleTarget, emulator: ZohoEmulator) -> None:
    with pytest.raises(FatalTargetError, match="no column `check_out`"):
        target.push(batch_of([day_record("T-1", DAY)], ("employee", "check_in")))
    assert emulator.tokens_minted == 0


def test_secrets_and_tokens_never_reach_the_log(
    make_target: Callable[..., ZohoPeopleTarget], emulator: ZohoEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    target = make_target()
    target.push(batch_of([day_record("T-1", DAY), day_record("T-9", DAY)]))
    emulator.expire_tokens()
    list(target.pull_employees())
    list(target.read_back(date(2025, 10, 6), date(2025, 10, 7), ["T-1"]))
    with pytest.raises(CredentialsError) as refused:
        make_target(client_secret="another-secret-xyz").push(batch_of([day_record("T-2", DAY)]))
    secrets = [emulator.client_secret, emulator.refresh_token, "another-secret-xyz", *emulator.access_tokens()]
    assert len(emulator.access_tokens()) == 2
    shown = caplog.text + str(refused.value) + target.describe() + repr(target.settings)
    for secret in secrets:
        assert secret not in shown
    assert "new access token" in caplog.text  # the log did record the token renewals
