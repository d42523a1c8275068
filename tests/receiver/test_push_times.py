"""LogTime: every accepted form, the site's time zone across DST, malformed times, implausible times."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from support.receiver_kit import BERLIN_TOKEN, NOW, TOKEN, Running, flat_push, nested_push, running_receiver


def push_time(receiver: Running, log_time: str, *, device: str = "device001", shape: str = "flat") -> object:
    token = BERLIN_TOKEN if device == "berlin01" else TOKEN
    if shape == "flat":
        return receiver.client.post("/push", params={"token": token}, json=flat_push(log_time=log_time, stgid=device))
    return receiver.client.post(f"/push/{device}", params={"token": token}, json=nested_push(log_time=log_time))


@pytest.mark.parametrize(
    ("log_time", "instant"),
    [
        ("2026-01-08 17:30:00", "2026-01-08T12:00:00Z"),  # no offset: Bengaluru wall time (UTC+05:30)
        ("2026-01-08T17:30:00", "2026-01-08T12:00:00Z"),
        ("2026-01-08 17:30", "2026-01-08T12:00:00Z"),
        ("2026-01-08 11:09:09Z", "2026-01-08T11:09:09Z"),
        ("2026-01-08T11:09:09Z", "2026-01-08T11:09:09Z"),
        ("2026-01-08 11:09:09 UTC", "2026-01-08T11:09:09Z"),
        ("2026-01-08 11:09:09 GMT", "2026-01-08T11:09:09Z"),
        ("2026-01-08 14:00:00 GMT +0300", "2026-01-08T11:00:00Z"),
        ("2026-01-08 06:00:00 GMT -0500", "2026-01-08T11:00:00Z"),
        ("2026-01-08 06:00:00 GMT-05:00", "2026-01-08T11:00:00Z"),
        ("2026-01-08 16:30:00+05:30", "2026-01-08T11:00:00Z"),
        ("2026-01-08T16:30:00.250+0530", "2026-01-08T11:00:00.250Z"),
    ],
)
@pytest.mark.parametrize("shape", ["flat", "nested"])
def test_log_time_forms_are_read_as_the_instant_they_name(
    receiver: Running, shape: str, log_time: str, instant: str
) -> None:
    reply = push_time(receiver, log_time, shape=shape)

    assert reply.status_code == 200, reply.text  # type: ignore[attr-defined]
    assert receiver.store.punches_after(0)["instant"].tolist() == [pd.Timestamp(instant)]


@pytest.mark.parametrize(
    ("log_time", "instant"),
    [
        ("2026-01-08 13:00:00", "2026-01-08T12:00:00Z"),  # winter: UTC+1
        ("2025-07-01 14:00:00", "2025-07-01T12:00:00Z"),  # summer: UTC+2
        # 30 March 2025, 02:30 does not exist in Berlin (02:00 -> 03:00): moved forward by the gap.
        ("2025-03-30 02:30:00", "2025-03-30T01:30:00Z"),
        # 26 October 2025, 02:30 happens twice: the first one (still summer time) is meant.
        ("2025-10-26 02:30:00", "2025-10-26T00:30:00Z"),
        ("2025-10-26 03:30:00", "2025-10-26T02:30:00Z"),
    ],
)
def test_a_log_time_without_offset_is_read_in_the_devices_site_zone_across_dst(
    receiver: Running, log_time: str, instant: str
) -> None:
    reply = push_time(receiver, log_time, device="berlin01")

    assert reply.status_code == 200, reply.text  # type: ignore[attr-defined]
    assert receiver.store.punches_after(0)["instant"].tolist() == [pd.Timestamp(instant)]


@pytest.mark.parametrize(
    "log_time",
    [
        "yesterday",
        "2026-01-08",
        "08/01/2026 17:30:00",
        "2026-01-08 25:00:00",
        "2026-13-08 10:00:00",
        "2026-01-08 17:30:00 GMT +3",
        "2026-01-08 17:30:00 IST",
        "2026-01-08  17:30:00",
        "2026-01-08 17:30:00Z ",
        "",
        "٢٠٢٦-01-08 17:30:00",
    ],
)
@pytest.mark.parametrize("shape", ["flat", "nested"])
def test_a_malformed_log_time_is_quarantined_naming_the_field_and_the_value_and_acknowledged(
    receiver: Running, shape: str, log_time: str
) -> None:
    # Refusing it would stall the terminal: it keeps the punch and sends it again, oldest first.
    reply = push_time(receiver, log_time, shape=shape)

    assert reply.status_code == 200  # type: ignore[attr-defined]
    assert reply.text in ("ok", '{"status": "1"}')  # type: ignore[attr-defined]
    assert receiver.store.punch_count() == 0
    held = _held(receiver)
    assert held["reason"].tolist() == ["bad_timestamp"]
    field = "LogTime" if shape == "flat" else "RealTime.PunchLog.LogTime"
    assert held["detail"].iloc[0].startswith(f"{field}: {log_time!r}")
    assert "2026-01-08 17:30:00" in held["detail"].iloc[0]  # an example of what is expected
    assert held[["employee_id", "device_id", "timestamp"]].values.tolist() == [["123", "device001", log_time]]
    kept = json.loads(held["raw"].iloc[0])  # the body, kept to see what the terminal sent
    assert (kept if shape == "flat" else kept["RealTime"]["PunchLog"])["LogTime"] == log_time


@pytest.mark.parametrize(
    ("value", "reason", "message"),
    [(20260108, "bad_timestamp", "must be a string"), (None, "malformed_record", "is missing")],
)
def test_a_log_time_that_is_not_text_or_missing_is_quarantined(
    receiver: Running, value: object, reason: str, message: str
) -> None:
    reply = receiver.client.post("/push", params={"token": TOKEN}, json=flat_push(log_time=value))  # type: ignore[arg-type]

    assert reply.text == "ok"
    held = _held(receiver)
    assert held["reason"].tolist() == [reason]
    assert held["detail"].iloc[0].startswith("LogTime: ") and message in held["detail"].iloc[0]


def _held(receiver: Running) -> pd.DataFrame:
    return receiver.store.quarantine_rows()


@pytest.mark.parametrize(
    ("log_time", "detail"),
    [
        ("2000-01-01 00:00:00", "more than 400 days before it was received (device clock reset?)"),
        ("2024-12-01 09:00:00", "more than 400 days before it was received (device clock reset?)"),
        ("2026-01-08 12:11:00Z", "more than 10 minutes after it was received (device clock ahead?)"),
        ("2031-05-05 09:00:00", "more than 10 minutes after it was received (device clock ahead?)"),
        ("2026-02-30 09:00:00", "is not a real date and time (day is out of range for month)"),
        ("0000-01-01 00:00:00", "is not a real date and time (year 0 is out of range)"),
    ],
)
@pytest.mark.parametrize("shape", ["flat", "nested"])
def test_an_implausible_time_is_quarantined_with_its_reason_and_acknowledged(
    receiver: Running, shape: str, log_time: str, detail: str
) -> None:
    reply = push_time(receiver, log_time, shape=shape)

    assert reply.status_code == 200  # type: ignore[attr-defined]
    assert reply.text in ("ok", '{"status": "1"}')  # type: ignore[attr-defined]  # the terminal stops resending
    assert receiver.store.punch_count() == 0
    held = _held(receiver)
    assert held["reason"].tolist() == ["implausible_timestamp"]
    assert detail in held["detail"].iloc[0]
    assert held[["source", "employee_id", "device_id", "timestamp"]].values.tolist() == [
        ["receiver:push", "123", "device001", log_time]
    ]


def test_the_plausible_window_is_inclusive_of_its_edges(receiver: Running) -> None:
    nine_minutes_ahead = (NOW + timedelta(minutes=9, seconds=59)).strftime("%Y-%m-%dT%H:%M:%SZ")
    almost_400_days = (NOW - timedelta(days=399, hours=23)).strftime("%Y-%m-%dT%H:%M:%SZ")

    assert push_time(receiver, nine_minutes_ahead).status_code == 200  # type: ignore[attr-defined]
    assert push_time(receiver, almost_400_days).status_code == 200  # type: ignore[attr-defined]
    assert receiver.store.punch_count() == 2
    assert _held(receiver).empty


def test_the_plausible_window_follows_the_settings(tmp_path: Path) -> None:
    with running_receiver(tmp_path, plausible_past_days=30, plausible_future_minutes=0) as receiver:
        push_time(receiver, "2025-12-01 09:00:00")  # 38 days old
        push_time(receiver, "2026-01-08 12:00:30Z")  # 30 s ahead
        push_time(receiver, "2026-01-08 11:59:00Z")

        assert receiver.store.punch_count() == 1
        assert sorted(_held(receiver)["detail"]) == [
            "more than 0 minutes after it was received (device clock ahead?)",
            "more than 30 days before it was received (device clock reset?)",
        ]


def test_a_resent_implausible_punch_is_acknowledged_and_quarantined_once(receiver: Running) -> None:
    for _ in range(3):
        assert push_time(receiver, "2000-01-01 00:00:00").status_code == 200  # type: ignore[attr-defined]

    assert len(_held(receiver)) == 1
    assert "punchbridge_receiver_pushes_quarantined_total 3.0" in receiver.client.get("/metrics").text
