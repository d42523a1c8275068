"""Per-device push tokens: query, bearer or RealTime.AuthToken; every failure is a 401 and stores nothing."""

from __future__ import annotations

import pytest
from support.receiver_kit import BERLIN_TOKEN, DISABLED_TOKEN, TOKEN, Running, flat_push, nested_push

from punchbridge.receiver.auth import bearer_token


def test_the_token_may_come_in_the_query_as_a_bearer_token_or_in_the_nested_body(receiver: Running) -> None:
    by_query = receiver.client.post("/push", params={"token": TOKEN}, json=flat_push(log_time="2026-01-08 09:00"))
    by_bearer = receiver.client.post(
        "/push", headers={"Authorization": f"Bearer {TOKEN}"}, json=flat_push(log_time="2026-01-08 10:00")
    )
    in_body = nested_push(log_time="2026-01-08T05:00:00Z")
    in_body["RealTime"]["AuthToken"] = TOKEN
    by_body = receiver.client.post("/push/device001", json=in_body)

    assert [by_query.status_code, by_bearer.status_code, by_body.status_code] == [200, 200, 200]
    assert receiver.store.punch_count() == 3


@pytest.mark.parametrize(
    ("device", "token", "reason"),
    [
        ("device001", "tok-device001-8c1e", "bad_token"),
        ("device001", BERLIN_TOKEN, "bad_token"),  # another device's token
        ("device001", TOKEN + "x", "bad_token"),
        ("device001", TOKEN[:-1], "bad_token"),
        ("device999", TOKEN, "unknown_device"),
        ("retired01", DISABLED_TOKEN, "disabled_device"),
        ("notoken01", "anything", "no_push_token"),
        ("notoken01", "", "no_token"),
    ],
)
def test_a_wrong_token_unknown_or_disabled_device_gets_401_and_nothing_is_stored(
    receiver: Running, device: str, token: str, reason: str
) -> None:
    reply = receiver.client.post("/push", params={"token": token}, json=flat_push(stgid=device))

    assert reply.status_code == 401
    assert reply.json()["field"] == "token"
    if token:
        # The same words whatever the cause: the reply does not tell which devices exist.
        assert reply.json()["message"] == "unknown device, disabled device or wrong token"
        assert token not in reply.text
    assert receiver.store.punch_count() == 0
    metrics = receiver.client.get("/metrics").text
    assert f'punchbridge_receiver_pushes_rejected_total{{reason="{reason}"}} 1.0' in metrics


def test_a_push_without_any_token_is_told_how_to_send_one(receiver: Running) -> None:
    reply = receiver.client.post("/push", json=flat_push())

    assert reply.status_code == 401
    assert "?token=" in reply.json()["message"] and "Bearer" in reply.json()["message"]
    assert receiver.store.punch_count() == 0


def test_a_nested_push_with_a_wrong_body_token_and_no_other_is_refused(receiver: Running) -> None:
    body = nested_push()
    body["RealTime"]["AuthToken"] = "stolen?"

    reply = receiver.client.post("/push/device001", json=body)

    assert reply.status_code == 401
    assert receiver.store.punch_count() == 0


def test_the_bearer_token_is_the_one_checked_when_several_are_sent(receiver: Running) -> None:
    # Bearer, then query, then body: the first found decides (a right one elsewhere does not help).
    wrong_bearer = receiver.client.post(
        "/push", params={"token": TOKEN}, headers={"Authorization": "Bearer nope"}, json=flat_push()
    )
    other_scheme = receiver.client.post(
        "/push", params={"token": TOKEN}, headers={"Authorization": "Basic dXNlcjpwYXNz"}, json=flat_push()
    )

    assert wrong_bearer.status_code == 401
    assert other_scheme.status_code == 200  # not a bearer token: the query's token is used


@pytest.mark.parametrize(
    ("header", "token"),
    [("Bearer abc", "abc"), ("bearer  abc ", "abc"), ("Basic abc", None), ("Bearer", None), ("", None), (None, None)],
)
def test_bearer_tokens_are_read_from_the_authorization_header(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token
