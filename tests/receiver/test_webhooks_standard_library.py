"""Standard Webhooks deliveries as the reference library signs them: rotation, tampering, staleness, lenient entries.

The receiver verifies this header set with the `standardwebhooks` library itself, one instance per
configured secret, so these tests sign with the library too and check what a sender notices.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from standardwebhooks.webhooks import Webhook
from support.receiver_kit import (
    NEW_SECRET,
    NOW,
    OLD_SECRET,
    Running,
    event_body,
    minop_headers,
    running_receiver,
    standard_headers,
)

LEAVE = {"employee_id": "E1", "date": "2026-01-12", "kind": "full", "paid": True}
MESSAGE = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"


def post(receiver: Running, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return receiver.client.post("/webhooks/minop", content=body, headers=headers)


def _body(number: int = 0) -> bytes:
    return event_body("leave.approved", {**LEAVE, "date": f"2026-01-1{number}"}, event_id=None)


def test_a_sender_signing_with_both_rotated_secrets_in_one_header_is_accepted(receiver: Running) -> None:
    body = _body()
    both = " ".join(Webhook(secret).sign(MESSAGE, NOW, body) for secret in (OLD_SECRET, NEW_SECRET))

    reply = post(receiver, body, {**standard_headers(body), "webhook-signature": both})

    assert reply.status_code == 200, reply.text
    assert len(receiver.store.leaves()) == 1


@pytest.mark.parametrize("secret", [NEW_SECRET, OLD_SECRET], ids=["new", "old"])
def test_each_rotated_secret_alone_is_accepted_and_only_configured_ones(tmp_path: Path, secret: str) -> None:
    (tmp_path / "both").mkdir()
    (tmp_path / "one").mkdir()
    with running_receiver(tmp_path / "both", webhook_secrets=[NEW_SECRET, OLD_SECRET]) as rotating:
        assert post(rotating, _body(), standard_headers(_body(), secret=secret)).status_code == 200
    with running_receiver(tmp_path / "one", webhook_secrets=[NEW_SECRET]) as rotated:
        expected = 200 if secret == NEW_SECRET else 401
        assert post(rotated, _body(), standard_headers(_body(), secret=secret)).status_code == expected


@pytest.mark.parametrize(
    ("tamper", "field"),
    [
        ("body", "webhook-signature"),
        ("webhook-id", "webhook-signature"),
        ("webhook-timestamp", "webhook-signature"),
    ],
)
def test_a_tampered_delivery_is_refused_and_changes_nothing(receiver: Running, tamper: str, field: str) -> None:
    body = _body()
    headers = standard_headers(body, message_id=MESSAGE)
    if tamper == "body":
        body = body.replace(b"E1", b"E2")
    elif tamper == "webhook-id":
        headers["webhook-id"] = "msg_someone_else"
    else:
        headers["webhook-timestamp"] = str(int(NOW.timestamp()) - 60)  # within tolerance, but not what was signed

    reply = post(receiver, body, headers)

    assert reply.status_code == 401
    assert reply.json()["error"] == "bad_signature"
    assert reply.json()["field"] == field
    assert receiver.store.leaves().empty


@pytest.mark.parametrize(("offset", "words"), [(-301, "old"), (301, "in the future")])
def test_a_stale_or_future_library_signed_delivery_is_refused(receiver: Running, offset: int, words: str) -> None:
    body = _body()
    reply = post(receiver, body, standard_headers(body, when=NOW + timedelta(seconds=offset)))

    assert reply.status_code == 401
    assert reply.json()["error"] == "stale_timestamp"
    assert words in reply.json()["message"]


@pytest.mark.parametrize(
    "beside",
    ["v1,not-base64!", "v1,AAAA", "v1", "garbage", "v1a,c2lnbmVkIHdpdGggYW4gZWQyNTUxOSBrZXk="],
    ids=["not base64", "too short", "no comma", "no version", "asymmetric"],
)
def test_a_malformed_entry_beside_a_valid_signature_does_not_fail_the_delivery(receiver: Running, beside: str) -> None:
    """As the reference library decides; the receiver used to refuse the whole delivery."""
    body = _body()
    headers = standard_headers(body)
    headers["webhook-signature"] = f"{beside} {headers['webhook-signature']}"

    reply = post(receiver, body, headers)

    assert reply.status_code == 200, reply.text
    assert len(receiver.store.leaves()) == 1


def test_a_tolerance_beyond_five_minutes_holds_for_minop_only_and_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="punchbridge")
    late = NOW - timedelta(seconds=400)
    with running_receiver(tmp_path, webhook_tolerance_seconds=600) as receiver:
        minop = _body(1).replace(b'"leave.approved"', b'"leave.approved", "id": "evt-late"')
        minop_reply = post(receiver, minop, minop_headers(minop, timestamp=int(late.timestamp())))
        standard = _body(2)
        standard_reply = post(receiver, standard, standard_headers(standard, when=late))

    assert minop_reply.status_code == 200, minop_reply.text
    assert standard_reply.status_code == 401
    assert standard_reply.json()["error"] == "stale_timestamp"
    assert "300 s" in standard_reply.json()["message"]
    assert "Standard Webhooks deliveries are still refused beyond 300 s" in caplog.text


def test_a_secret_that_is_not_base64_serves_minop_only_and_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The library decodes such a secret leniently (dropping the dashes here); the receiver does not use it."""
    caplog.set_level(logging.WARNING, logger="punchbridge")
    plain = "not-base64-secret"
    with running_receiver(tmp_path, webhook_secrets=[plain]) as receiver:
        minop = event_body("leave.approved", LEAVE)
        assert post(receiver, minop, minop_headers(minop, plain)).status_code == 200
        standard = _body(3)
        refused = post(receiver, standard, standard_headers(standard, secret=plain))

    assert refused.status_code == 401
    assert "receiver.webhook_secrets" in refused.json()["message"]
    assert "webhook_secrets[0] is not base64" in caplog.text
    assert plain not in caplog.text
