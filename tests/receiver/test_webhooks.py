"""Webhooks: both signature schemes, key rotation, timestamp tolerance, replays, hostile deliveries, effects."""

from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta
from pathlib import Path

import httpx
import pandas as pd
import pytest
from support.receiver_kit import (
    NEW_SECRET,
    NOW,
    OLD_SECRET,
    Running,
    event_body,
    minop_headers,
    minop_signature,
    running_receiver,
    standard_headers,
)

LEAVE = {"employee_id": "E1", "date": "2026-01-12", "kind": "full", "paid": True}
PUNCH = {
    "event_id": "raw-991",
    "employee_id": "E1",
    "device_id": "gate-7",
    "timestamp": "2026-01-08T03:31:00Z",
    "source": "device",
    "geo": {"lat": 12.97, "lon": 77.59},
    "device_hash": "ab12",
    "updated_at": "2026-01-08T03:31:05Z",
}


def post(receiver: Running, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return receiver.client.post("/webhooks/minop", content=body, headers=headers)


# -- the two signature schemes -----------------------------------------------------------------


def test_a_delivery_signed_with_x_minop_signature_is_applied(receiver: Running) -> None:
    body = event_body("leave.approved", LEAVE)

    reply = post(receiver, body, minop_headers(body))

    assert reply.status_code == 200
    assert reply.json() == {"status": "processed", "id": "evt-1", "type": "leave.approved"}
    assert receiver.store.leaves().to_dict("records") == [
        {"employee_id": "E1", "date": date(2026, 1, 12), "kind": "full", "paid": True}
    ]


def test_a_delivery_signed_by_the_standard_webhooks_library_is_applied(receiver: Running) -> None:
    body = event_body("leave.approved", LEAVE, event_id=None)  # Standard Webhooks bodies carry no id

    reply = post(receiver, body, standard_headers(body, message_id="msg_leave_1"))

    assert reply.status_code == 200
    assert reply.json() == {"status": "processed", "id": "msg_leave_1", "type": "leave.approved"}
    assert len(receiver.store.leaves()) == 1


def test_an_unpadded_standard_webhooks_secret_works_as_the_library_reads_it(tmp_path: Path) -> None:
    unpadded = NEW_SECRET.rstrip("=")
    with running_receiver(tmp_path, webhook_secrets=[unpadded]) as receiver:
        body = event_body("leave.approved", LEAVE)
        reply = post(receiver, body, standard_headers(body, secret=unpadded))
    assert reply.status_code == 200


# -- key rotation ------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["minop", "standard"])
def test_during_a_rotation_the_old_and_the_new_secret_are_both_accepted(receiver: Running, scheme: str) -> None:
    for number, secret in enumerate((OLD_SECRET, NEW_SECRET)):
        body = event_body("leave.approved", {**LEAVE, "date": f"2026-01-1{number}"}, event_id=f"rot-{number}")
        if scheme == "minop":
            headers = minop_headers(body, secret)
        else:
            headers = standard_headers(body, secret=secret, message_id=f"rot-{number}")
        assert post(receiver, body, headers).status_code == 200

    assert len(receiver.store.leaves()) == 2


def test_a_sender_signing_with_both_keys_at_once_is_accepted(receiver: Running) -> None:
    body = event_body("leave.approved", LEAVE)
    stamp = int(NOW.timestamp())
    header = f"v1={'0' * 64},{minop_signature(body, OLD_SECRET, stamp)}"

    reply = post(receiver, body, {"X-Minop-Timestamp": str(stamp), "X-Minop-Signature": header})

    assert reply.status_code == 200


@pytest.mark.parametrize("scheme", ["minop", "standard"])
def test_a_secret_removed_after_the_rotation_is_refused(tmp_path: Path, scheme: str) -> None:
    with running_receiver(tmp_path, webhook_secrets=[NEW_SECRET]) as receiver:
        body = event_body("leave.approved", LEAVE)
        headers = minop_headers(body, OLD_SECRET) if scheme == "minop" else standard_headers(body, secret=OLD_SECRET)
        reply = post(receiver, body, headers)

        assert reply.status_code == 401
        assert reply.json()["error"] == "bad_signature"
        assert reply.json()["field"] == ("X-Minop-Signature" if scheme == "minop" else "webhook-signature")
        assert receiver.store.leaves().empty
        assert not receiver.store.webhook_event_seen("evt-1")


def test_with_no_secret_configured_every_delivery_is_refused(tmp_path: Path) -> None:
    with running_receiver(tmp_path, webhook_secrets=[]) as receiver:
        body = event_body("leave.approved", LEAVE)
        reply = post(receiver, body, minop_headers(body))

    assert reply.status_code == 401
    assert "receiver.webhook_secrets" in reply.json()["message"]


# -- timestamps --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [(-300, True), (300, True), (-301, False), (301, False), (-86_400, False), (86_400 * 365, False)],
)
@pytest.mark.parametrize("scheme", ["minop", "standard"])
def test_a_timestamp_more_than_five_minutes_away_either_way_is_refused(
    receiver: Running, scheme: str, offset: int, accepted: bool
) -> None:
    body = event_body("leave.approved", LEAVE)
    when = NOW + timedelta(seconds=offset)
    if scheme == "minop":
        headers = minop_headers(body, timestamp=int(when.timestamp()))
    else:
        headers = standard_headers(body, when=when)

    reply = post(receiver, body, headers)

    if accepted:
        assert reply.status_code == 200
    else:
        assert reply.status_code == 401
        assert reply.json()["error"] == "stale_timestamp"
        assert ("old" if offset < 0 else "in the future") in reply.json()["message"]
        assert receiver.store.leaves().empty


def test_the_tolerance_follows_the_setting(tmp_path: Path) -> None:
    with running_receiver(tmp_path, webhook_tolerance_seconds=30) as receiver:
        body = event_body("leave.approved", LEAVE)
        reply = post(receiver, body, minop_headers(body, timestamp=int(NOW.timestamp()) - 31))
    assert reply.status_code == 401


# -- replays -----------------------------------------------------------------------------------


def test_a_replayed_event_is_acknowledged_as_already_processed_and_changes_nothing(receiver: Running) -> None:
    first = event_body("leave.approved", LEAVE)
    # The same id again with other content (a replay that was re-signed, or a buggy sender): no effect.
    again = event_body("leave.approved", {**LEAVE, "paid": False})

    assert post(receiver, first, minop_headers(first)).json()["status"] == "processed"
    replayed = post(receiver, again, minop_headers(again))

    assert replayed.status_code == 200
    assert replayed.json() == {"status": "already_processed", "id": "evt-1", "type": "leave.approved"}
    assert receiver.store.leaves()["paid"].tolist() == [True]
    metrics = receiver.client.get("/metrics").text
    assert 'punchbridge_receiver_webhooks_total{outcome="replayed",type="leave.approved"} 1.0' in metrics


def test_a_replayed_standard_webhooks_message_is_recognised_by_its_webhook_id(receiver: Running) -> None:
    body = event_body("punch.created", PUNCH, event_id=None)
    headers = standard_headers(body, message_id="msg_punch_1")

    assert post(receiver, body, headers).json()["status"] == "processed"
    assert post(receiver, body, headers).json()["status"] == "already_processed"
    assert receiver.store.punch_count() == 1


def test_event_ids_survive_a_restart_of_the_receiver(tmp_path: Path) -> None:
    body = event_body("payroll.cutoff.locked", {"site": "blr", "period": "2026-01"})
    with running_receiver(tmp_path) as receiver:
        assert post(receiver, body, minop_headers(body)).json()["status"] == "processed"
    with running_receiver(tmp_path) as restarted:  # the same store file, a new process state
        replayed = post(restarted, body, minop_headers(body))
        assert replayed.json()["status"] == "already_processed"
        assert len(restarted.store.period_locks()) == 1


def test_concurrent_deliveries_of_one_event_apply_it_once(receiver: Running) -> None:
    from concurrent.futures import ThreadPoolExecutor

    body = event_body("punch.created", PUNCH)
    headers = minop_headers(body)
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: post(receiver, body, headers).json()["status"], range(16)))

    assert sorted(set(statuses)) == ["already_processed", "processed"]
    assert statuses.count("processed") == 1
    assert receiver.store.punch_count() == 1


# -- hostile and malformed deliveries: always a 4xx, never a 5xx, nothing recorded ----------------


def _malformed_cases() -> list[tuple[str, dict[str, str], bytes, str]]:
    body = event_body("leave.approved", LEAVE)
    stamp = str(int(NOW.timestamp()))
    good = minop_headers(body)
    standard = standard_headers(body)
    return [
        ("unsigned", {}, body, "unsigned"),
        ("garbage signature", {**good, "X-Minop-Signature": "v1=zzzz"}, body, "malformed_signature"),
        ("no v1", {**good, "X-Minop-Signature": "v0=" + "a" * 64}, body, "malformed_signature"),
        ("not v1=", {**good, "X-Minop-Signature": "sha256 " + "a" * 64}, body, "malformed_signature"),
        ("empty signature", {**good, "X-Minop-Signature": ""}, body, "malformed_signature"),
        ("wrong signature", {**good, "X-Minop-Signature": "v1=" + "a" * 64}, body, "bad_signature"),
        (
            "many signatures",
            {**good, "X-Minop-Signature": ",".join(["v1=" + "a" * 64] * 9)},
            body,
            "malformed_signature",
        ),
        ("missing timestamp", {"X-Minop-Signature": good["X-Minop-Signature"]}, body, "malformed_signature"),
        ("missing signature", {"X-Minop-Timestamp": stamp}, body, "malformed_signature"),
        ("non-numeric timestamp", {**good, "X-Minop-Timestamp": "yesterday"}, body, "malformed_signature"),
        ("float timestamp", {**good, "X-Minop-Timestamp": stamp + ".5"}, body, "malformed_signature"),
        ("negative timestamp", {**good, "X-Minop-Timestamp": "-" + stamp}, body, "malformed_signature"),
        ("huge timestamp", {**good, "X-Minop-Timestamp": "9" * 40}, body, "malformed_signature"),
        ("body changed", good, body.replace(b"E1", b"E2"), "bad_signature"),
        ("std garbage", {**standard, "webhook-signature": "v1,not-base64!"}, body, "malformed_signature"),
        ("std short", {**standard, "webhook-signature": "v1,AAAA"}, body, "malformed_signature"),
        ("std no comma", {**standard, "webhook-signature": "v1AAAA"}, body, "malformed_signature"),
        ("std only v1a", {**standard, "webhook-signature": "v1a,AAAA"}, body, "malformed_signature"),
        ("std missing id", {k: v for k, v in standard.items() if k != "webhook-id"}, body, "malformed_signature"),
        ("std bad id", {**standard, "webhook-id": "m" * 65}, body, "malformed_signature"),
        ("std other id", {**standard, "webhook-id": "msg_other"}, body, "bad_signature"),
        ("std timestamp", {**standard, "webhook-timestamp": "soon"}, body, "malformed_signature"),
    ]


@pytest.mark.parametrize(
    ("name", "headers", "body", "error"), _malformed_cases(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_a_malformed_or_wrong_signature_gets_401_naming_the_header(
    receiver: Running, name: str, headers: dict[str, str], body: bytes, error: str
) -> None:
    reply = post(receiver, body, headers)

    assert reply.status_code == 401, reply.text
    assert reply.json()["error"] == error
    assert reply.json()["field"] in {
        "X-Minop-Signature", "X-Minop-Timestamp", "webhook-id", "webhook-timestamp", "webhook-signature",
    }  # fmt: skip
    assert receiver.store.leaves().empty


def test_a_header_given_twice_is_refused(receiver: Running) -> None:
    body = event_body("leave.approved", LEAVE)
    headers = [(k, v) for k, v in minop_headers(body).items()] + [("X-Minop-Timestamp", "1")]

    reply = receiver.client.post("/webhooks/minop", content=body, headers=headers)

    assert reply.status_code == 401
    assert reply.json()["field"] == "X-Minop-Timestamp"
    assert "more than once" in reply.json()["message"]


@pytest.mark.parametrize(
    ("body", "status", "field", "message"),
    [
        (b"", 400, "body", "the body is empty"),
        (b"not json at all", 400, "body", "not JSON"),
        (b"[1, 2]", 400, "body", "expected a JSON object"),
        (b'{"data": ' * 9 + b"{}" + b"}" * 9, 400, "body", "deeper than 8 levels"),
        (b'{"id": "e", "id": "f", "type": "leave.approved", "data": {}}', 400, "body", "appears twice"),
        (json.dumps({"id": None, "type": "leave.approved", "data": LEAVE}).encode(), 422, "id", "is missing"),
        (json.dumps({"id": "e", "data": LEAVE}).encode(), 422, "type", "is missing"),
        (json.dumps({"id": "e", "type": "leave approved!\n", "data": LEAVE}).encode(), 422, "type", "identifier"),
        (json.dumps({"id": "e", "type": "leave.approved"}).encode(), 422, "data", "is missing"),
        (json.dumps({"id": "e", "type": "leave.approved", "data": [LEAVE]}).encode(), 422, "data", "an object"),
        (json.dumps({"id": 7, "type": "leave.approved", "data": LEAVE}).encode(), 422, "id", "must be a string"),
        (json.dumps({"id": "e", "type": "x", "data": {}, "meta": {"a": 1}}).encode(), 422, "meta", "flat values"),
        (json.dumps({"id": "e", "type": "x", "data": {"a": [[1]]}}).encode(), 422, "data.a", "flat records"),
        (json.dumps({"id": "e", "type": "x", "created_at": "x" * 65, "data": {}}).encode(), 422, "created_at", "64"),
    ],
    ids=lambda v: v.decode()[:30] if isinstance(v, bytes) else None,
)
def test_a_correctly_signed_body_that_is_unusable_gets_a_4xx_naming_the_field(
    receiver: Running, body: bytes, status: int, field: str, message: str
) -> None:
    reply = post(receiver, body, minop_headers(body))

    assert reply.status_code == status, reply.text
    assert reply.json()["field"] == field
    assert message in reply.json()["message"]
    assert receiver.store.cloud_events().empty and receiver.store.leaves().empty


def test_a_huge_delivery_gets_413_before_its_signature_is_even_checked(receiver: Running) -> None:
    body = event_body("attendance.processed", {"note": "x" * 70_000})

    reply = post(receiver, body, minop_headers(body))

    assert reply.status_code == 413
    assert receiver.store.cloud_events().empty


# -- what each event type does -----------------------------------------------------------------


def test_punch_created_stores_the_punch_of_the_raw_record(receiver: Running) -> None:
    body = event_body("punch.created", {**PUNCH, "direction": "CheckOut"})

    assert post(receiver, body, minop_headers(body)).status_code == 200

    punches = receiver.store.punches_after(0)
    assert punches[["employee_id", "device_id", "direction", "source"]].values.tolist() == [
        ["E1", "gate-7", "out", "receiver:webhook"]
    ]
    assert punches["instant"].tolist() == [pd.Timestamp("2026-01-08T03:31:00Z")]


def test_punch_created_for_a_punch_already_pushed_by_the_terminal_stores_it_once(receiver: Running) -> None:
    from support.receiver_kit import TOKEN, flat_push

    receiver.client.post("/push", params={"token": TOKEN}, json=flat_push(user="E1", log_time="2026-01-08 09:01:00"))
    body = event_body("punch.created", {**PUNCH, "device_id": "device001", "timestamp": "2026-01-08T03:31:00Z"})

    assert post(receiver, body, minop_headers(body)).json()["status"] == "processed"
    assert receiver.store.punch_count() == 1


@pytest.mark.parametrize(
    ("timestamp", "detail"),
    [
        ("2001-01-01T00:00:00Z", "more than 400 days before"),
        ("2026-01-09T00:00:00+05:30", "more than 10 minutes after"),
        ("2026-02-30T10:00:00Z", "not a real date"),
    ],
)
def test_punch_created_with_an_implausible_time_is_quarantined_and_acknowledged(
    receiver: Running, timestamp: str, detail: str
) -> None:
    body = event_body("punch.created", {**PUNCH, "timestamp": timestamp})

    assert post(receiver, body, minop_headers(body)).json()["status"] == "processed"

    assert receiver.store.punch_count() == 0
    held = receiver.store.quarantine_rows()
    assert held[["source", "employee_id", "device_id", "timestamp", "reason"]].values.tolist() == [
        ["receiver:webhook", "E1", "gate-7", timestamp, "implausible_timestamp"]
    ]
    assert detail in held["detail"].iloc[0]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({**PUNCH, "timestamp": "2026-01-08 03:31:00"}, "data.timestamp"),  # no offset: the cloud sends UTC
        ({**PUNCH, "timestamp": 1767843060}, "data.timestamp"),
        ({k: v for k, v in PUNCH.items() if k != "employee_id"}, "data.employee_id"),
        ({**PUNCH, "device_id": ""}, "data.device_id"),
        ({**PUNCH, "direction": "inward"}, "data.direction"),
    ],
)
def test_punch_created_with_unusable_data_gets_422_and_a_corrected_resend_is_applied(
    receiver: Running, data: dict[str, object], field: str
) -> None:
    bad = event_body("punch.created", data)
    good = event_body("punch.created", PUNCH)  # the same event id, fixed

    refused = post(receiver, bad, minop_headers(bad))
    applied = post(receiver, good, minop_headers(good))

    assert refused.status_code == 422
    assert refused.json()["field"] == field
    assert applied.json()["status"] == "processed"
    assert receiver.store.punch_count() == 1


def test_leave_approved_feeds_the_leaves_the_rules_engine_reads(receiver: Running) -> None:
    events = [
        ("l1", {"employee_id": "E1", "date": "2026-01-12"}),  # kind full and paid by default
        ("l2", {"employee_id": "E2", "date": "2026-01-12", "kind": "first_half", "paid": False}),
        ("l3", {"employee_id": "E2", "date": "2026-01-12", "kind": "second_half"}),
        ("l4", {"employee_id": "E3", "date": "2026-01-13", "kind": "first_half"}),
        ("l5", {"employee_id": "E3", "date": "2026-01-13", "kind": "full"}),  # replaces the half day
    ]
    for event_id, data in events:
        body = event_body("leave.approved", data, event_id=event_id)
        assert post(receiver, body, minop_headers(body)).status_code == 200

    from punchbridge.rules.frames import LEAVE_COLUMNS

    leaves = receiver.store.leaves()
    assert tuple(leaves.columns) == LEAVE_COLUMNS
    assert leaves.values.tolist() == [
        ["E1", date(2026, 1, 12), "full", True],
        ["E2", date(2026, 1, 12), "first_half", False],
        ["E2", date(2026, 1, 12), "second_half", True],
        ["E3", date(2026, 1, 13), "full", True],
    ]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"employee_id": "E1", "date": "12/01/2026"}, "data.date"),
        ({"employee_id": "E1", "date": "2026-02-30"}, "data.date"),
        ({"employee_id": "E1", "date": "2026-01-12", "kind": "half"}, "data.kind"),
        ({"employee_id": "E1", "date": "2026-01-12", "paid": "yes"}, "data.paid"),
        ({"date": "2026-01-12"}, "data.employee_id"),
    ],
)
def test_leave_approved_with_unusable_data_gets_422_naming_the_field(
    receiver: Running, data: dict[str, object], field: str
) -> None:
    body = event_body("leave.approved", data)

    reply = post(receiver, body, minop_headers(body))

    assert reply.status_code == 422
    assert reply.json()["field"] == field
    assert receiver.store.leaves().empty
    assert not receiver.store.webhook_event_seen("evt-1")


def test_payroll_cutoff_locked_is_recorded_as_a_period_lock(receiver: Running) -> None:
    for event_id, data in [
        ("c1", {"site": "blr", "period": "2026-01", "locked_at": "2026-02-03T10:00:00+05:30"}),
        ("c2", {"period": "2026-01"}),  # every site; locked at the event's time
        ("c3", {"site": "blr", "period": "2026-01", "locked_at": "2026-02-09T10:00:00Z"}),  # already locked
    ]:
        body = event_body("payroll.cutoff.locked", data, event_id=event_id)
        assert post(receiver, body, minop_headers(body)).json()["status"] == "processed"

    locks = receiver.store.period_locks()
    assert locks[["site", "period", "locked_at", "event_id", "source"]].values.tolist() == [
        ["*", "2026-01", "2026-01-08T11:59:00Z", "c2", "receiver:webhook"],
        ["blr", "2026-01", "2026-02-03T10:00:00+05:30", "c1", "receiver:webhook"],
    ]


def test_attendance_processed_and_unknown_types_are_kept_for_later_use(receiver: Running) -> None:
    processed = {"employee_id": "E1", "date": "2026-01-07", "status": "present", "anomalies": ["late"]}
    for event_id, event_type in [("a1", "attendance.processed"), ("a2", "device.rebooted")]:
        body = event_body(event_type, processed, event_id=event_id)
        reply = post(receiver, body, minop_headers(body))
        assert reply.json() == {"status": "processed", "id": event_id, "type": event_type}

    kept = receiver.store.cloud_events()
    assert kept["event_type"].tolist() == ["attendance.processed", "device.rebooted"]
    assert kept["payload"].iloc[0]["data"] == processed
    assert kept["created_at"].tolist() == ["2026-01-08T11:59:00Z"] * 2
    assert receiver.store.cloud_events("device.rebooted")["event_id"].tolist() == ["a2"]


def test_without_a_body_id_a_minop_event_is_named_by_its_signed_timestamp_and_body(receiver: Running) -> None:
    body = event_body("leave.approved", LEAVE, event_id=None)
    headers = minop_headers(body)

    first = post(receiver, body, headers)
    second = post(receiver, body, headers)

    signed = hashlib.sha256(headers["X-Minop-Timestamp"].encode() + b"." + body).hexdigest()
    assert first.json() == {"status": "processed", "id": f"sha256:{signed}", "type": "leave.approved"}
    assert second.json()["status"] == "already_processed"


def test_a_replay_without_a_body_id_is_not_made_new_by_an_unsigned_idempotency_key(receiver: Running) -> None:
    processed = {"employee_id": "E1", "date": "2026-01-07", "status": "present"}
    body = event_body("attendance.processed", processed, event_id=None)
    signed = minop_headers(body)

    first = post(receiver, body, {**signed, "Idempotency-Key": "idem-1"})
    replayed = post(receiver, body, {**signed, "Idempotency-Key": "idem-2"})  # captured and sent again

    assert first.json()["status"] == "processed"
    assert replayed.status_code == 200 and replayed.json()["status"] == "already_processed"
    assert len(receiver.store.cloud_events("attendance.processed")) == 1


def test_a_body_id_wins_over_an_unsigned_idempotency_key(receiver: Running) -> None:
    body = event_body("leave.approved", LEAVE, event_id="evt-signed")

    first = post(receiver, body, {**minop_headers(body), "Idempotency-Key": "k1"})
    second = post(receiver, body, {**minop_headers(body), "Idempotency-Key": "k2"})

    assert first.json()["id"] == "evt-signed"
    assert second.json()["status"] == "already_processed"


def test_event_ids_are_kept_for_the_replay_window_and_then_forgotten(tmp_path: Path) -> None:
    from support.receiver_kit import Clock

    body = event_body("leave.approved", LEAVE)
    with running_receiver(tmp_path) as receiver:
        post(receiver, body, minop_headers(body))
    for hours, expected in [(75, "already_processed"), (77, "processed")]:
        later = Clock(NOW + timedelta(hours=hours))
        with running_receiver(tmp_path, clock=later) as restarted:  # the writer purges when it starts
            replay = post(restarted, body, minop_headers(body, timestamp=int(later.now)))
            assert replay.json()["status"] == expected, hours
            assert len(restarted.store.leaves()) == 1  # applied again after the window: still one leave
