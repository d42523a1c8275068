"""The cloud pull client against the emulator: authentication, retries, ETag, gzip, fields, bad replies."""

from __future__ import annotations

import json

import httpx
import pytest
from pydantic import SecretStr
from support.minop_kit import ManualClock

from punchbridge.minop.client import (
    TOKEN_MARGIN_SECONDS,
    ApiKey,
    ClientCredentials,
    MinopAuthError,
    MinopClient,
    MinopDeadlineExceededError,
    MinopHttp,
    MinopRefusedError,
    MinopReplyError,
    MinopUnavailableError,
    NotModified,
    Page,
)
from punchbridge.testing.emulators.minop import PROCESSED, RAW, MinopEmulator, RateLimits
from punchbridge.testing.http import ServedApp

PUNCHES = [{"employee_id": f"E{i}", "device_id": "dev1", "timestamp": f"2025-10-01T0{i}:00:00Z"} for i in range(1, 6)]


def api_client(cloud: ServedApp, emulator: MinopEmulator, clock: ManualClock, **options: object) -> MinopClient:
    return MinopClient(cloud.url, ApiKey(SecretStr(emulator.api_key)), clock=clock, sleep=clock.sleep, **options)  # type: ignore[arg-type]


def oauth_client(cloud: ServedApp, emulator: MinopEmulator, clock: ManualClock) -> MinopClient:
    credentials = ClientCredentials(
        f"{cloud.url}/oauth/token", emulator.client_id, SecretStr(emulator.client_secret), ("read:raw",)
    )
    return MinopClient(cloud.url, credentials, clock=clock, sleep=clock.sleep)


def page(result: Page | NotModified) -> Page:
    assert isinstance(result, Page), result
    return result


def test_an_api_key_reads_raw_punches_page_by_page(emulator, cloud, clock):
    emulator.add_raw_punches(PUNCHES)
    with api_client(cloud, emulator, clock) as client:
        pages = list(client.pages(RAW, {"limit": "2"}))
    assert [len(p.records) for p in pages] == [2, 2, 1]
    assert sorted(r["employee_id"] for p in pages for r in p.records) == ["E1", "E2", "E3", "E4", "E5"]
    assert pages[-1].next_cursor is None


def test_a_wrong_api_key_is_an_auth_error_that_does_not_quote_the_key(emulator, cloud, clock):
    with (
        MinopClient(cloud.url, ApiKey(SecretStr("not-the-key-123"))) as client,
        pytest.raises(MinopAuthError, match="HTTP 401") as caught,
    ):
        client.raw_page({})
    assert "not-the-key-123" not in str(caught.value)


def test_an_oauth_token_is_cached_until_it_expires_then_renewed(emulator, cloud, clock):
    emulator.add_raw_punches(PUNCHES)
    with oauth_client(cloud, emulator, clock) as client:
        page(client.raw_page({}))
        page(client.raw_page({}))
        assert emulator.stats["tokens_issued"] == 1
        clock.advance(emulator.token_lifetime - TOKEN_MARGIN_SECONDS - 1)
        page(client.raw_page({}))
        assert emulator.stats["tokens_issued"] == 1  # still valid
        clock.advance(2)
        page(client.raw_page({}))
    assert emulator.stats["tokens_issued"] == 2


def test_a_token_the_cloud_forgot_is_replaced_once(emulator, cloud, clock):
    with oauth_client(cloud, emulator, clock) as client:
        page(client.raw_page({}))
        emulator.revoke_tokens()  # on the cloud's side, before their expiry
        page(client.raw_page({}))
    assert emulator.stats["tokens_issued"] == 2


def test_a_wrong_client_secret_is_an_auth_error_naming_the_client(emulator, cloud, clock):
    credentials = ClientCredentials(f"{cloud.url}/oauth/token", emulator.client_id, SecretStr("wrong-secret"))
    client = MinopClient(cloud.url, credentials)
    with client, pytest.raises(MinopAuthError, match="invalid_client") as caught:
        client.raw_page({})
    assert emulator.client_id in str(caught.value) and "wrong-secret" not in str(caught.value)


def test_a_scope_not_granted_is_an_auth_error_naming_the_scope(emulator, cloud, clock):
    with (
        oauth_client(cloud, emulator, clock) as client,
        pytest.raises(MinopAuthError, match="read:processed"),
    ):  # asks for read:raw only
        client.processed_page({"from": "2025-10-01", "to": "2025-10-02"})


@pytest.mark.parametrize("status", [429, 503])
def test_429_and_503_are_retried_after_the_wait_the_cloud_asked_for(emulator, cloud, clock, status):
    emulator.add_raw_punches(PUNCHES)
    emulator.fail_next(RAW, status, retry_after=7)
    with api_client(cloud, emulator, clock) as client:
        assert len(page(client.raw_page({})).records) == 5
    assert clock.slept == [7.0]


def test_the_emulators_rate_limit_is_waited_out(emulator, cloud, clock):
    emulator.limits = RateLimits(per_window=2, window_seconds=60)
    with api_client(cloud, emulator, clock) as client:
        for _ in range(3):
            page(client.raw_page({}))
    assert emulator.stats["rate_limited"] == 1
    assert clock.slept == [60.0]


def test_a_retry_after_beyond_the_deadline_fails_at_once(emulator, cloud, clock):
    emulator.fail_next(RAW, 429, retry_after=500)
    with (
        api_client(cloud, emulator, clock, deadline=60) as client,
        pytest.raises(MinopDeadlineExceededError, match="retry after 500 s"),
    ):
        client.raw_page({})
    assert clock.slept == []


def test_a_cloud_that_keeps_failing_is_given_up_after_the_attempts(emulator, cloud, clock):
    emulator.fail_next(RAW, 503, times=10)
    with (
        api_client(cloud, emulator, clock) as client,
        pytest.raises(MinopUnavailableError, match=r"HTTP 503.*gave up after 3 attempt"),
    ):
        client.raw_page({})


def test_a_reply_that_trickles_in_is_cut_at_the_total_deadline(emulator, cloud, clock):
    emulator.add_raw_punches(PUNCHES * 1)
    emulator.slow_next(RAW, seconds=5.0, chunks=50)  # a chunk every 0.1 s: no single read times out
    with (
        api_client(cloud, emulator, clock, timeout=5.0, deadline=0.5) as client,
        pytest.raises(MinopDeadlineExceededError, match=r"deadline of 0\.5 s"),
    ):
        client.raw_page({"limit": "5"})


def test_an_unchanged_page_costs_a_304(emulator, cloud, clock):
    emulator.add_raw_punches(PUNCHES)
    with api_client(cloud, emulator, clock) as client:
        first = page(client.raw_page({"limit": "10"}))
        assert first.etag
        again = client.raw_page({"limit": "10"}, etag=first.etag)
        assert isinstance(again, NotModified)
        emulator.add_raw_punches([{"employee_id": "E9", "device_id": "dev1", "timestamp": "2025-10-02T01:00:00Z"}])
        changed = page(client.raw_page({"limit": "10"}, etag=first.etag))
    assert len(changed.records) == 6
    assert emulator.stats["not_modified"] == 1


def test_pages_arrive_gzipped_and_are_decoded(emulator, cloud, clock):
    emulator.add_raw_punches(PUNCHES * 1)
    with api_client(cloud, emulator, clock) as client:
        records = page(client.raw_page({})).records
    assert emulator.stats["gzipped"] == 1
    assert len(records) == 5 and records[0]["device_id"] == "dev1"


def test_fields_selects_the_fields_sent(emulator, cloud, clock):
    emulator.add_raw_punches(PUNCHES)
    with api_client(cloud, emulator, clock) as client:
        records = page(client.raw_page({"fields": "event_id,timestamp"})).records
        assert all(set(r) == {"event_id", "timestamp"} for r in records)
        with pytest.raises(MinopRefusedError, match=r"fields: unknown field.*salary") as caught:
            client.raw_page({"fields": "event_id,salary"})
    assert caught.value.code == "invalid_parameter"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("<html>Bad gateway</html>", "not JSON.*<html>Bad gateway"),
        ('{"items": []}', "no `data`.*items"),
        ('{"data": {"a": 1}}', "`data` is dict, not a list"),
        ('{"data": [], "next_cursor": 12}', "next_cursor"),
        ("[" * 100_000, "nested too deeply"),
        ('{"data": [], "n": ' + "9" * 5000 + "}", "not JSON"),
    ],
    ids=["html", "no-data", "data-not-list", "cursor-not-text", "deep", "huge-number"],
)
def test_a_reply_that_breaks_the_contract_is_a_reply_error(emulator, cloud, clock, body, message):
    emulator.fail_next(RAW, 200, body=body, content_type="text/html")
    client = api_client(cloud, emulator, clock)
    with client, pytest.raises(MinopReplyError, match=message):
        client.raw_page({})


def test_a_reply_larger_than_the_limit_is_refused(emulator, cloud, clock):
    emulator.add_raw_punches(PUNCHES)
    with (
        api_client(cloud, emulator, clock, max_body_bytes=200) as client,
        pytest.raises(MinopReplyError, match="larger than 200 bytes"),
    ):
        client.raw_page({})


def test_a_refusal_names_the_clouds_code_and_message_with_secrets_removed(emulator, cloud, clock):
    echoed = json.dumps({"code": "bad_request", "message": f"key {emulator.api_key} cannot do that"})
    emulator.fail_next(PROCESSED, 400, body=echoed)
    client = api_client(cloud, emulator, clock)
    with client, pytest.raises(MinopRefusedError) as caught:
        client.processed_page({"from": "2025-10-01", "to": "2025-10-01"})
    assert caught.value.code == "bad_request"
    assert "cannot do that" in str(caught.value) and emulator.api_key not in str(caught.value)


def test_a_post_carries_an_idempotency_key_that_its_retries_repeat() -> None:
    # The cloud document asks for an Idempotency-Key on POST and PUT calls (the OAuth token call here).
    seen: list[str | None] = []

    def cloud(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("Idempotency-Key"))
        if len(seen) in (1, 3):
            return httpx.Response(503, headers={"Retry-After": "0"})
        return httpx.Response(200, json={"ok": True})

    http = MinopHttp(transport=httpx.MockTransport(cloud), sleep=lambda _s: None)
    try:
        for _ in range(2):
            http.call("POST", "https://minop.test/oauth/token", what="token", form={"grant_type": "client_credentials"})
        http.call("GET", "https://minop.test/v1/attendance/raw", what="raw")
    finally:
        http.close()
    first, retry, second, second_retry, read = seen
    assert first and first == retry and second == second_retry  # the same key for a call and its retries
    assert first != second  # a new call, a new key
    assert read is None  # a GET needs none
