"""Both push shapes of spec section 2: what is stored, and the reply each shape expects."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from support.receiver_kit import TOKEN, Running, flat_push, nested_push, running_receiver


def stored(receiver: Running) -> pd.DataFrame:
    return receiver.store.punches_after(0)


def held(receiver: Running) -> pd.DataFrame:
    return receiver.store.quarantine_rows()


def test_a_flat_push_is_stored_and_answered_with_the_body_ok(receiver: Running) -> None:
    reply = receiver.client.post("/push", params={"token": TOKEN}, json=flat_push())

    assert reply.status_code == 200
    assert reply.text == "ok"
    assert reply.headers["content-type"].startswith("text/plain")
    punches = stored(receiver)
    assert punches[["employee_id", "device_id", "source"]].values.tolist() == [["123", "device001", "receiver:push"]]
    # 17:30 in Bengaluru, the site of device001, is 12:00 UTC.
    assert punches["instant"].tolist() == [pd.Timestamp("2026-01-08T12:00:00Z")]


def test_a_nested_push_is_answered_with_status_1_as_json(receiver: Running) -> None:
    reply = receiver.client.post("/push/device001", headers={"Authorization": f"Bearer {TOKEN}"}, json=nested_push())

    assert reply.status_code == 200
    assert reply.json() == {"status": "1"}
    assert reply.headers["content-type"] == "application/json"
    punches = stored(receiver)
    assert punches[["employee_id", "device_id", "direction"]].values.tolist() == [["123", "device001", "in"]]
    assert punches["instant"].tolist() == [pd.Timestamp("2026-01-08T11:09:09Z")]


@pytest.mark.parametrize(
    ("setting", "body", "content_type"),
    [('{"status": "done"}', '{"status": "done"}', "application/json"), ("OK", "OK", "text/plain")],
)
def test_the_nested_reply_is_the_configured_one(tmp_path: Path, setting: str, body: str, content_type: str) -> None:
    with running_receiver(tmp_path, nested_reply=setting) as receiver:
        reply = receiver.client.post("/push/device001", params={"token": TOKEN}, json=nested_push())
        flat = receiver.client.post("/push", params={"token": TOKEN}, json=flat_push())

    assert reply.status_code == 200
    assert reply.text == body
    assert reply.headers["content-type"].startswith(content_type)
    assert flat.text == "ok"  # the flat shape's reply is the vendor's, whatever the setting


def test_in_the_flat_shape_type_is_the_input_type_and_status_the_direction(receiver: Running) -> None:
    # Type "1" is a fingerprint; read as a ZKTeco status digit it would have been "out".
    receiver.client.post("/push", params={"token": TOKEN}, json=flat_push(log_time="2026-01-08 09:00:00"))
    receiver.client.post("/push", params={"token": TOKEN}, json=flat_push(log_time="2026-01-08 16:00:00", Status="1"))

    assert stored(receiver)["direction"].tolist() == [None, "out"]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("CheckIn", "in"),
        ("CheckOut", "out"),
        ("BreakOut", "break_out"),
        ("BreakIn", "break_in"),
        ("OverTimeIn", "ot_in"),
        ("OverTimeOut", "ot_out"),
        ("checkout", "out"),
        ("0", "in"),
        ("1", "out"),
        ("2", "break_out"),
        ("3", "break_in"),
        ("4", "ot_in"),
        ("5", "ot_out"),
        (5, "ot_out"),
        ("ot_in", "ot_in"),
        ("", None),
        (None, None),
    ],
)
@pytest.mark.parametrize("shape", ["flat", "nested"])
def test_direction_words_and_zkteco_digits_map_to_punchbridge_directions(
    receiver: Running, shape: str, given: object, expected: str | None
) -> None:
    if shape == "flat":
        reply = receiver.client.post("/push", params={"token": TOKEN}, json=flat_push(Status=given))
    else:
        reply = receiver.client.post("/push/device001", params={"token": TOKEN}, json=nested_push(Type=given))

    assert reply.status_code == 200, reply.text
    assert stored(receiver)["direction"].tolist() == [expected]


@pytest.mark.parametrize(
    ("shape", "value", "field"),
    [
        ("flat", "Sideways", "Status"),
        ("flat", 6, "Status"),
        ("flat", True, "Status"),
        ("nested", "CheckInn", "RealTime.PunchLog.Type"),
        ("nested", -1, "RealTime.PunchLog.Type"),
    ],
)
def test_an_unknown_direction_is_quarantined_naming_the_field_and_acknowledged(
    receiver: Running, shape: str, value: object, field: str
) -> None:
    if shape == "flat":
        reply = receiver.client.post("/push", params={"token": TOKEN}, json=flat_push(Status=value))
    else:
        reply = receiver.client.post("/push/device001", params={"token": TOKEN}, json=nested_push(Type=value))

    assert reply.status_code == 200
    assert reply.text in ("ok", '{"status": "1"}')
    assert stored(receiver).empty
    row = held(receiver).iloc[0]
    assert (row["reason"], row["source"], row["device_id"], row["employee_id"]) == (
        "malformed_record", "receiver:push", "device001", "123"
    )  # fmt: skip
    assert row["detail"].startswith(f"{field}: ") and "is not a direction" in row["detail"]


def test_the_user_may_be_spelled_userid_or_userId_and_be_a_number(receiver: Running) -> None:
    flat = {**flat_push(log_time="2026-01-08 09:00:00"), "UserId": "77"}
    del flat["UserID"]
    nested = nested_push(log_time="2026-01-08T05:00:00Z")
    record = nested["RealTime"]["PunchLog"]
    record["UserID"] = 78
    del record["UserId"]

    assert receiver.client.post("/push", params={"token": TOKEN}, json=flat).text == "ok"
    assert receiver.client.post("/push/device001", params={"token": TOKEN}, json=nested).status_code == 200
    assert sorted(stored(receiver)["employee_id"]) == ["77", "78"]


def test_both_spellings_of_the_user_that_differ_are_quarantined(receiver: Running) -> None:
    reply = receiver.client.post("/push", params={"token": TOKEN}, json=flat_push(user="1", UserId="2"))

    assert reply.text == "ok"
    assert held(receiver)["detail"].tolist() == ["UserID: UserID and UserId are both given and differ"]
    assert stored(receiver).empty


def test_an_employee_the_employees_file_does_not_know_is_stored_for_the_sync_to_judge(receiver: Running) -> None:
    # The receiver has no employees list: who exists is decided at sync time, where the rules engine
    # quarantines unknown employees with their reason.
    reply = receiver.client.post("/push", params={"token": TOKEN}, json=flat_push(user="NOBODY-9"))

    assert reply.text == "ok"
    assert stored(receiver)["employee_id"].tolist() == ["NOBODY-9"]


def test_the_nested_shape_takes_its_device_from_the_url_or_the_top_of_the_body(receiver: Running) -> None:
    in_body = {**nested_push(log_time="2026-01-08T05:00:00Z"), "stgid": "device001"}
    nowhere = nested_push(log_time="2026-01-08T06:00:00Z")

    assert receiver.client.post("/push", params={"token": TOKEN}, json=in_body).json() == {"status": "1"}
    refused = receiver.client.post("/push", params={"token": TOKEN}, json=nowhere)

    assert refused.status_code == 400
    assert refused.json()["field"] == "stgid"
    assert "/push/{stgid}" in refused.json()["message"]
    assert len(stored(receiver)) == 1


@pytest.mark.parametrize("shape", ["flat", "nested"])
def test_the_device_may_be_named_in_the_query_as_the_cloud_document_says(receiver: Running, shape: str) -> None:
    body = nested_push() if shape == "nested" else {k: v for k, v in flat_push().items() if k != "stgid"}

    reply = receiver.client.post("/push", params={"stgid": "device001", "token": TOKEN}, json=body)

    assert reply.status_code == 200, reply.text
    assert stored(receiver)["device_id"].tolist() == ["device001"]


def test_the_device_named_in_several_places_must_be_the_same_one(receiver: Running) -> None:
    token = {"token": TOKEN}
    same = receiver.client.post("/push/device001", params={"stgid": "device001", **token}, json=flat_push())
    body_differs = receiver.client.post(
        "/push", params={"stgid": "device001", **token}, json=flat_push(stgid="berlin01")
    )
    url_differs = receiver.client.post("/push/device001", params={"stgid": "berlin01", **token}, json=nested_push())
    empty_query = receiver.client.post(
        "/push", params={"stgid": "", **token}, json=flat_push(log_time="2026-01-08 09:00:00")
    )

    assert same.text == "ok" and empty_query.text == "ok"  # ?stgid= with nothing names nothing
    assert (body_differs.status_code, body_differs.json()["message"]) == (
        400, "differs from the device named in the query (?stgid=)"
    )  # fmt: skip
    assert (url_differs.status_code, url_differs.json()["message"]) == (
        400, "the device named in the query (?stgid=) differs from the one named in the URL"
    )  # fmt: skip
    assert len(stored(receiver)) == 2


def test_a_body_naming_another_device_than_the_url_is_refused(receiver: Running) -> None:
    reply = receiver.client.post("/push/device001", params={"token": TOKEN}, json=flat_push(stgid="berlin01"))

    assert reply.status_code == 400
    assert reply.json() == {
        "error": "invalid_field",
        "field": "stgid",
        "message": "differs from the device named in the URL",
    }
    assert stored(receiver).empty


def test_fields_the_receiver_does_not_know_are_ignored_when_flat_and_quarantined_when_nested(
    receiver: Running,
) -> None:
    kept = receiver.client.post("/push", params={"token": TOKEN}, json=flat_push(WorkCode="7", Battery=88))
    odd = receiver.client.post(
        "/push", params={"token": TOKEN}, json=flat_push(log_time="2026-01-08 10:00:00", Photo={"jpeg": "..."})
    )

    assert kept.text == "ok"
    assert odd.text == "ok"
    assert held(receiver)["detail"].iloc[0].startswith("Photo: is not a field the receiver knows")
    assert len(stored(receiver)) == 1


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (flat_push(user={"id": 1}), "UserID", "must be a string or a whole number"),
        (flat_push(user=" 123"), "UserID", "is not an identifier"),
        (flat_push(user="12\n3"), "UserID", "is not an identifier"),
        (flat_push(user="1001\u200b"), "UserID", "is not an identifier"),
        (flat_push(user="\u202e1001"), "UserID", "is not an identifier"),
        (flat_push(user=""), "UserID", "is not an identifier"),
        (flat_push(user="x" * 65), "UserID", "is not an identifier"),
        (flat_push(user=True), "UserID", "must be a string or a whole number"),
        (flat_push(user=1.5), "UserID", "must be a string or a whole number"),
        ({k: v for k, v in flat_push().items() if k != "UserID"}, "UserID", "is missing"),
        (flat_push(Temperature=["36.5"]), "Temperature", "not a list"),
        (flat_push(FaceMask=True), "FaceMask", "must be a string or a number"),
        (flat_push(Type=1.5), "Type", "must be a string or a whole number"),
        ({**nested_push(), "stgid": "device001", "RealTime": "yes"}, "RealTime", "must be an object"),
        ({"stgid": "device001", "RealTime": {"AuthToken": TOKEN}}, "RealTime.PunchLog", "is missing"),
        ({"stgid": "device001", "RealTime": {"PunchLog": {"UserId": "1", "LogTime": "2026-01-08T11:00:00Z"},
          "OperationID": [1]}}, "RealTime.OperationID", "not a list"),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 30 else "",
)  # fmt: skip
def test_an_authenticated_push_with_a_malformed_field_is_quarantined_with_its_body_and_acknowledged(
    receiver: Running, body: dict[str, object], field: str, message: str
) -> None:
    # Control and invisible characters included: the terminal would resend the punch forever.
    reply = receiver.client.post("/push", params={"token": TOKEN}, json=body)

    assert reply.status_code == 200, reply.text
    assert stored(receiver).empty
    row = held(receiver).iloc[0]
    assert row["reason"] == "malformed_record"
    assert row["detail"].startswith(f"{field}: ") and message in row["detail"]
    kept = json.loads(row["raw"])
    assert kept.get("UserID", "absent") == body.get("UserID", "absent")  # the body as the terminal sent it
    assert TOKEN not in row["raw"] and "36.5" not in row["raw"]  # but no token, no temperature


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (flat_push(stgid=7), "stgid", "must be a string"),
        (flat_push(stgid="device001\u200b"), "stgid", "is not an identifier"),
        (nested_push(), "stgid", "no device"),
    ],
    ids=["not text", "invisible", "none"],
)
def test_a_push_whose_device_cannot_be_read_is_refused_since_it_cannot_be_authenticated(
    receiver: Running, body: dict[str, object], field: str, message: str
) -> None:
    reply = receiver.client.post("/push", params={"token": TOKEN}, json=body)

    assert reply.status_code == 400, reply.text
    assert reply.json()["field"] == field and message in reply.json()["message"]
    assert stored(receiver).empty and held(receiver).empty


def test_an_unknown_field_with_an_unprintable_name_is_named_escaped(receiver: Running) -> None:
    body = b'{"stgid": "device001", "UserID": "1", "LogTime": "2026-01-08 10:00:00", "\\ud800\\n": {"x": 1}}'

    reply = receiver.client.post("/push", params={"token": TOKEN}, content=body)

    assert reply.text == "ok"
    row = held(receiver).iloc[0]
    assert row["detail"].startswith("\\ud800\\n: ")
    assert row["raw"] == body.decode()  # nothing to mask: kept byte for byte
