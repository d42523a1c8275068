"""Re-sent pushes, concurrent pushes, and hostile bodies: too large, too deep, not JSON."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from support.receiver_kit import TOKEN, Running, flat_push, nested_push


def test_a_resent_punch_is_acknowledged_every_time_and_stored_once(receiver: Running) -> None:
    replies = [receiver.client.post("/push", params={"token": TOKEN}, json=flat_push()) for _ in range(3)]

    assert [r.text for r in replies] == ["ok", "ok", "ok"]
    assert receiver.store.punch_count() == 1
    metrics = receiver.client.get("/metrics").text
    assert "punchbridge_receiver_pushes_accepted_total 1.0" in metrics
    assert "punchbridge_receiver_pushes_duplicate_total 2.0" in metrics


def test_the_same_instant_written_two_ways_is_the_same_punch(receiver: Running) -> None:
    receiver.client.post("/push", params={"token": TOKEN}, json=flat_push(log_time="2026-01-08 17:30:00"))
    receiver.client.post("/push/device001", params={"token": TOKEN}, json=nested_push(log_time="2026-01-08T12:00:00Z"))

    assert receiver.store.punch_count() == 1


def test_concurrent_pushes_each_sent_twice_are_all_acknowledged_and_stored_once(receiver: Running) -> None:
    bodies = [flat_push(user=f"E{i:03d}", log_time=f"2026-01-08 1{i % 6}:{i % 60:02d}:00") for i in range(300)]

    limits = httpx.Limits(max_connections=32)
    with httpx.Client(base_url=receiver.url, timeout=30, limits=limits) as client, ThreadPoolExecutor(32) as pool:
        replies = list(pool.map(lambda body: client.post("/push", params={"token": TOKEN}, json=body).text, bodies * 2))

    assert replies == ["ok"] * 600
    assert receiver.store.punch_count() == 300


def test_valid_pushes_around_a_malformed_one_are_stored_and_the_malformed_one_quarantined(receiver: Running) -> None:
    bodies = [flat_push(user="A"), flat_push(user="B", LogTime="tomorrow"), flat_push(user="C")]

    replies = [receiver.client.post("/push", params={"token": TOKEN}, json=body) for body in bodies]

    assert [r.text for r in replies] == ["ok", "ok", "ok"]  # the terminal's queue moves on
    assert sorted(receiver.store.punches_after(0)["employee_id"]) == ["A", "C"]
    assert receiver.store.quarantine_rows()[["employee_id", "reason"]].values.tolist() == [["B", "bad_timestamp"]]


def test_a_resent_malformed_push_is_quarantined_once(receiver: Running) -> None:
    first = nested_push(user="12\u200b3")
    resent = nested_push(user="12\u200b3")
    resent["RealTime"]["Time"] = "2026-01-08T11:19:10Z"  # the terminal's send time changes with each attempt
    other = nested_push(user="45\u200b6")

    for body in (first, resent, first, other):
        assert receiver.client.post("/push/device001", params={"token": TOKEN}, json=body).json() == {"status": "1"}

    assert receiver.store.quarantine_rows()["employee_id"].tolist() == ["12\u200b3", "45\u200b6"]
    metrics = receiver.client.get("/metrics").text
    assert 'punchbridge_receiver_pushes_acknowledged_total{outcome="quarantined"} 4.0' in metrics


def _post_raw(receiver: Running, content: bytes | Iterator[bytes], **headers: str) -> httpx.Response:
    return receiver.client.post("/push", params={"token": TOKEN}, content=content, headers=headers)


def test_a_body_larger_than_the_limit_gets_413(receiver: Running) -> None:
    huge = json.dumps(flat_push(Note="x" * 70_000)).encode()

    reply = _post_raw(receiver, huge, **{"Content-Type": "application/json"})

    assert reply.status_code == 413
    assert reply.json()["field"] == "body"
    assert "65536 bytes" in reply.json()["message"]
    assert receiver.store.punch_count() == 0


def test_a_large_body_without_a_length_is_cut_off_at_the_limit(receiver: Running) -> None:
    sent = []

    def endless() -> Iterator[bytes]:
        yield b'{"stgid": "device001", "Note": "'
        for _ in range(200):  # 200 x 1 KiB: over the limit long before the end
            sent.append(1)
            yield b"x" * 1024
        yield b'"}'

    reply = _post_raw(receiver, endless())

    assert reply.status_code == 413
    assert receiver.store.punch_count() == 0


def test_a_content_length_that_is_not_a_number_gets_a_4xx(receiver: Running) -> None:
    # Sent by hand: HTTP clients refuse to. The HTTP layer refuses it before the app sees it.
    host, port = receiver.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"POST /push?token=x HTTP/1.1\r\nHost: x\r\nContent-Length: lots\r\n\r\n{}")
        status_line = sock.recv(4096).split(b"\r\n", 1)[0]

    assert status_line.startswith(b"HTTP/1.1 4"), status_line
    assert receiver.store.punch_count() == 0


@pytest.mark.parametrize(
    ("content", "code", "message"),
    [
        (b"", "malformed_json", "the body is empty"),
        (b"   \n", "malformed_json", "the body is empty"),
        (b"stgid=device001&UserID=1", "malformed_json", "the body is not JSON"),
        (b'{"stgid": "device001", ', "malformed_json", "the body is not JSON"),
        (b'[{"stgid": "device001"}]', "malformed_json", "expected a JSON object, not list"),
        (b'"ok"', "malformed_json", "expected a JSON object, not str"),
        (json.dumps(flat_push()).encode("utf-16"), "malformed_json", "not UTF-8"),
        (b'\xef\xbb\xbf{"stgid": "device001"}', "malformed_json", "the body is not JSON"),
        (b'{"stgid": "device001", "UserID": "1", "UserID": "2"}', "malformed_json", "'UserID' appears twice"),
        (b'{"stgid": "device001", "Temperature": NaN}', "malformed_json", "NaN is not JSON"),
        (b'{"stgid": "device001", "Temperature": 1e999}', "malformed_json", "too large"),
        (b'{"stgid": "device001", "UserID": ' + b"9" * 5000 + b"}", "malformed_json", "the body is not JSON"),
        (b'{"a": ' + b"[" * 9 + b"]" * 9 + b"}", "too_deep", "deeper than 8 levels"),
        (b"[" * 30_000 + b"]" * 30_000, "too_deep", "deeper than 8 levels"),
    ],
    ids=lambda v: v.decode("latin-1")[:24] if isinstance(v, bytes) else None,
)
def test_a_body_that_is_not_a_json_object_within_limits_gets_400(
    receiver: Running, content: bytes, code: str, message: str
) -> None:
    reply = _post_raw(receiver, content, **{"Content-Type": "application/json"})

    assert reply.status_code == 400, reply.text
    assert reply.json()["error"] == code
    assert reply.json()["field"] == "body"
    assert message in reply.json()["message"]
    assert receiver.store.punch_count() == 0


def test_the_depth_limit_follows_the_setting(tmp_path: object) -> None:
    from support.receiver_kit import running_receiver

    with running_receiver(tmp_path, max_json_depth=2) as receiver:  # type: ignore[arg-type]
        flat = receiver.client.post("/push", params={"token": TOKEN}, json=flat_push())
        nested = receiver.client.post("/push/device001", params={"token": TOKEN}, json=nested_push())

    assert flat.text == "ok"  # depth 1
    assert nested.status_code == 400  # RealTime.PunchLog is depth 3
    assert nested.json()["error"] == "too_deep"


def test_methods_other_than_post_are_not_allowed_on_push(receiver: Running) -> None:
    reply = receiver.client.get("/push")

    assert reply.status_code == 405
    assert "POST" in reply.headers["allow"]
