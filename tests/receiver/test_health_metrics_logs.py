"""Health, Prometheus metrics, the OpenAPI document, and logs that never show a token or a secret."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from support.receiver_kit import (
    NEW_SECRET,
    OLD_SECRET,
    TOKEN,
    Running,
    event_body,
    flat_push,
    minop_headers,
    running_receiver,
    standard_headers,
)


def test_health_is_ok_while_the_store_can_be_read(receiver: Running) -> None:
    reply = receiver.client.get("/health")

    assert reply.status_code == 200
    assert reply.json() == {"status": "ok"}


def test_health_is_503_when_the_store_cannot_be_read(receiver: Running) -> None:
    receiver.store.close()

    reply = receiver.client.get("/health")

    assert reply.status_code == 503
    assert reply.json()["status"] == "unavailable"
    assert "sqlite" not in reply.text  # the store's location is for the log, not for callers


def test_a_push_the_store_cannot_take_gets_503_so_the_terminal_keeps_it(receiver: Running) -> None:
    receiver.store.close()

    reply = receiver.client.post("/push", params={"token": TOKEN}, json=flat_push())

    assert reply.status_code == 503
    assert reply.headers["retry-after"] == "5"
    assert reply.text != "ok"


def test_metrics_count_pushes_by_outcome_and_refusals_by_reason(receiver: Running) -> None:
    client = receiver.client
    client.post("/push", params={"token": TOKEN}, json=flat_push(user="A"))
    client.post("/push", params={"token": TOKEN}, json=flat_push(user="A"))
    client.post("/push", params={"token": TOKEN}, json=flat_push(user="B", log_time="2001-01-01 00:00:00"))
    client.post("/push", params={"token": "wrong"}, json=flat_push())
    client.post("/push", params={"token": TOKEN}, json=flat_push(log_time="soon"))
    client.post("/push/device001", params={"token": TOKEN}, json=flat_push(stgid="berlin01"))
    client.post("/push", params={"token": TOKEN}, content=b"{")
    body = event_body("leave.approved", {"employee_id": "E1", "date": "2026-01-12"})
    client.post("/webhooks/minop", content=body, headers=minop_headers(body))
    client.post("/webhooks/minop", content=body, headers={})

    text = client.get("/metrics").text

    for line in [
        "punchbridge_receiver_pushes_accepted_total 1.0",
        "punchbridge_receiver_pushes_duplicate_total 1.0",
        "punchbridge_receiver_pushes_quarantined_total 2.0",
        'punchbridge_receiver_pushes_quarantined_by_reason_total{reason="implausible_timestamp"} 1.0',
        'punchbridge_receiver_pushes_quarantined_by_reason_total{reason="bad_timestamp"} 1.0',
        'punchbridge_receiver_pushes_acknowledged_total{outcome="stored"} 1.0',
        'punchbridge_receiver_pushes_acknowledged_total{outcome="duplicate"} 1.0',
        'punchbridge_receiver_pushes_acknowledged_total{outcome="quarantined"} 2.0',
        'punchbridge_receiver_pushes_rejected_total{reason="bad_token"} 1.0',
        'punchbridge_receiver_pushes_rejected_total{reason="invalid_field"} 1.0',
        'punchbridge_receiver_pushes_rejected_total{reason="malformed_json"} 1.0',
        'punchbridge_receiver_webhooks_total{outcome="processed",type="leave.approved"} 1.0',
        'punchbridge_receiver_webhooks_rejected_total{reason="unsigned"} 1.0',
        'punchbridge_receiver_request_seconds_count{endpoint="push"} 7.0',
        'punchbridge_receiver_request_seconds_count{endpoint="webhook"} 2.0',
    ]:
        assert line in text, line
    assert "punchbridge_receiver_commit_batch_size_count" in text


def test_two_receivers_in_one_process_count_separately(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with running_receiver(tmp_path / "a") as first, running_receiver(tmp_path / "b") as second:
        first.client.post("/push", params={"token": TOKEN}, json=flat_push())
        assert "punchbridge_receiver_pushes_accepted_total 1.0" in first.client.get("/metrics").text
        assert "punchbridge_receiver_pushes_accepted_total 0.0" in second.client.get("/metrics").text


def test_the_openapi_document_describes_every_endpoint_and_its_bodies(receiver: Running) -> None:
    document = receiver.client.get("/openapi.json").json()

    assert set(document["paths"]) == {"/push", "/push/{stgid}", "/webhooks/minop", "/health", "/metrics"}
    push = document["paths"]["/push"]["post"]
    assert set(push["responses"]) == {"200", "400", "401", "413", "503"}
    assert push["requestBody"]["content"]["application/json"]["schema"]["anyOf"]
    assert set(document["components"]["schemas"]) >= {
        "FlatPush",
        "NestedPush",
        "PunchCreated",
        "LeaveApproved",
        "Error",
    }
    assert set(document["components"]["securitySchemes"]) >= {"pushBearer", "pushToken", "minopSignature"}


def test_logs_never_contain_tokens_signatures_or_secrets(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    wrong_token = "guess-Zq81-token"
    with running_receiver(tmp_path) as receiver:
        client = receiver.client
        client.post("/push", params={"token": TOKEN}, json=flat_push())
        client.post("/push", params={"token": wrong_token}, json=flat_push())
        client.post("/push", headers={"Authorization": f"Bearer {wrong_token}"}, json=flat_push(stgid="nobody"))
        client.post("/push", params={"token": TOKEN}, json=flat_push(log_time="2001-01-01 00:00:00"))
        body = event_body("leave.approved", {"employee_id": "E1", "date": "2026-01-12"})
        signed = minop_headers(body, OLD_SECRET)
        client.post("/webhooks/minop", content=body, headers=signed)
        client.post("/webhooks/minop", content=body, headers={**signed, "X-Minop-Signature": "v1=" + "f" * 64})
        standard = standard_headers(body, secret=NEW_SECRET)
        client.post("/webhooks/minop", content=body + b" ", headers=standard)

    # The server side only: the test's own HTTP client logs the URLs it requests.
    server_side = ("punchbridge", "uvicorn", "fastapi", "starlette")
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(server_side))
    assert "refused" in logged  # the refusals are logged ...
    for secret in [TOKEN, wrong_token, NEW_SECRET, OLD_SECRET, signed["X-Minop-Signature"][3:], "f" * 64]:
        assert secret not in logged  # ... without what would let someone in
    assert standard["webhook-signature"].split(",")[1] not in logged
