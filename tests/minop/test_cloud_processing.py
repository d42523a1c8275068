"""`processing: cloud`: processed days keep the cloud's time zone and shift, `attendance.processed` events mark
dates to pull again, an empty pull warns, and the emulator's own processing makes it all tryable."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
from support.minop_kit import ManualClock, invoke, write_config
from support.receiver_kit import event_body, minop_headers, running_receiver

from punchbridge.store import Store
from punchbridge.testing.emulators.minop import MinopEmulator, RateLimits
from punchbridge.testing.http import ServedApp, serve

TODAY = datetime.now(UTC).date()
DAY = TODAY - timedelta(days=3)


def processed(employee: str, day: date, **values: object) -> dict:
    record = {
        "employee_id": employee, "date": day.isoformat(), "status": "present",
        "first_in": f"{day.isoformat()}T07:00:00Z", "last_out": f"{day.isoformat()}T15:00:00Z",
        "payable_hours": 7.0, "ot_hours": 0.0, "late_minutes": 0, "early_exit_minutes": 0,
        "shift": {"name": "early", "start": "06:00", "end": "14:00"}, "anomalies": [], "recomputed": False,
    }  # fmt: skip
    return record | values


def days_of(folder: Path, first: date, last: date) -> pd.DataFrame:
    with Store.open(f"sqlite:///{folder / 'store.db'}") as store:
        return store.load_days(first, last).set_index(["employee_id", "work_date"])


def cloud_config(folder: Path, emulator: MinopEmulator, cloud: ServedApp, first: date, last: date) -> Path:
    source = emulator.source_settings(cloud.url, processing="cloud")
    return write_config(folder, source, [("E1", "blr")], sync_range=(first.isoformat(), last.isoformat()))


def test_processed_days_keep_the_clouds_time_zone_and_shift_window(clock, tmp_path, caplog) -> None:
    caplog.set_level(logging.WARNING)
    emulator = MinopEmulator(clock=clock, limits=RateLimits.lifted(), site_timezone="Europe/Berlin")
    emulator.add_processed([processed("E1", DAY)])
    with serve(emulator.app) as cloud:
        result = invoke("sync", "-c", cloud_config(tmp_path, emulator, cloud, DAY, DAY))
    assert result.exit_code == 0, result.output
    day = days_of(tmp_path, DAY, DAY).loc[("E1", DAY.isoformat())]
    in_berlin = datetime.fromisoformat(f"{DAY.isoformat()}T07:00:00+00:00").astimezone(ZoneInfo("Europe/Berlin"))
    assert day["first_in"] == in_berlin.isoformat(timespec="seconds")  # the cloud's zone, not the site's
    assert day["shift"] == "early 06:00-14:00"  # the window the cloud applied, kept
    assert "the cloud computes site blr in Europe/Berlin, the configuration says Asia/Kolkata" in caplog.text


def test_a_shift_window_that_is_not_a_time_is_quarantined(emulator, cloud, tmp_path) -> None:
    emulator.add_processed([processed("E1", DAY, shift={"name": "early", "start": "6 am", "end": "14:00"})])
    assert invoke("sync", "-c", cloud_config(tmp_path, emulator, cloud, DAY, DAY)).exit_code == 0
    with Store.open(f"sqlite:///{tmp_path / 'store.db'}") as store:
        held = store.quarantine_rows()
    assert held[["employee_id", "reason"]].values.tolist() == [["E1", "malformed_record"]]
    assert "shift window '6 am' is not HH:MM" in held["detail"].iloc[0]


def test_an_attendance_processed_event_marks_its_date_to_be_pulled_again(emulator, cloud, clock, tmp_path) -> None:
    first_pull = f"{DAY.isoformat()}T20:00:00Z"
    emulator.add_processed([processed("E1", DAY, payable_hours=7.0, updated_at=first_pull)])
    config = cloud_config(tmp_path, emulator, cloud, DAY, DAY + timedelta(days=1))
    assert invoke("sync", "-c", config).exit_code == 0
    # The cloud recomputes the day but writes an updated_at older than the watermark: an incremental
    # pull cannot see it. Its webhook can.
    emulator.add_processed([processed("E1", DAY, payable_hours=9.0, updated_at=f"{DAY.isoformat()}T19:00:00Z")])
    assert invoke("sync", "-c", config).exit_code == 0
    assert days_of(tmp_path, DAY, DAY).loc[("E1", DAY.isoformat()), "worked_minutes"] == 420
    with running_receiver(tmp_path / "receiver", store_url=f"sqlite:///{tmp_path / 'store.db'}") as receiver:
        body = event_body("attendance.processed", processed("E1", DAY, payable_hours=9.0), event_id="evt-9")
        assert receiver.client.post("/webhooks/minop", content=body, headers=minop_headers(body)).status_code == 200
    served = emulator.served("processed")
    assert invoke("sync", "-c", config).exit_code == 0
    assert days_of(tmp_path, DAY, DAY).loc[("E1", DAY.isoformat()), "worked_minutes"] == 540
    assert emulator.served("processed") == served + 1
    assert invoke("sync", "-c", config).exit_code == 0  # the mark is used once
    assert emulator.served("processed") == served + 1


def test_a_pull_of_new_dates_that_brings_no_processed_day_warns(emulator, cloud, tmp_path, caplog) -> None:
    caplog.set_level(logging.WARNING)
    result = invoke("sync", "-c", cloud_config(tmp_path, emulator, cloud, DAY, DAY + timedelta(days=1)))
    assert result.exit_code == 0, result.output
    expected = f"the cloud sent no processed day for {DAY}..{DAY + timedelta(days=1)}, although it computes 1"
    assert expected in caplog.text


def test_the_emulators_own_processing_makes_processing_cloud_tryable(clock: ManualClock, tmp_path) -> None:
    emulator = MinopEmulator(clock=clock, limits=RateLimits.lifted(), site_timezone="Asia/Kolkata")
    start = datetime(DAY.year, DAY.month, DAY.day, 3, 25, tzinfo=UTC)  # 08:55 in Bengaluru
    emulator.add_raw_punches(
        [
            {"employee_id": "E1", "device_id": "d1", "timestamp": start},
            {"employee_id": "E1", "device_id": "d1", "timestamp": start + timedelta(hours=9, minutes=30)},
            {"employee_id": "E2", "device_id": "d1", "timestamp": start + timedelta(hours=1)},
        ]
    )
    assert emulator.process_raw() == 2
    with serve(emulator.app) as cloud:
        source = emulator.source_settings(cloud.url, processing="cloud")
        config = write_config(tmp_path, source, [("E1", "blr"), ("E2", "blr")], sync_range=(DAY.isoformat(),) * 2)
        assert invoke("sync", "-c", config).exit_code == 0
    days = days_of(tmp_path, DAY, DAY)
    asha, ben = days.loc[("E1", DAY.isoformat())], days.loc[("E2", DAY.isoformat())]
    assert (asha["status"], asha["worked_minutes"], asha["shift"]) == ("present", 510, "general 09:00-18:00")
    assert asha["first_in"] == f"{DAY.isoformat()}T08:55:00+05:30" and asha["rules_version"] == "cloud:minop"
    assert (ben["status"], ben["anomalies"], ben["late_minutes"]) == ("half_day", "missing_out", 45)


def test_with_auto_process_each_punch_received_recomputes_its_day(clock: ManualClock) -> None:
    emulator = MinopEmulator(clock=clock, site_timezone="Asia/Kolkata", auto_process=True)
    emulator.add_device("d1", timezone="Asia/Kolkata")
    start = datetime(DAY.year, DAY.month, DAY.day, 3, 30, tzinfo=UTC)
    emulator.scan("d1", "E1", start)
    assert emulator.processed.get(f"E1|{DAY.isoformat()}")["status"] == "half_day"  # type: ignore[index]
    emulator.set_online("d1", False)
    emulator.scan("d1", "E1", start + timedelta(hours=9))
    assert emulator.processed.get(f"E1|{DAY.isoformat()}")["status"] == "half_day"  # type: ignore[index]
    emulator.set_online("d1", True)  # the cloud receives the punch only now
    assert emulator.processed.get(f"E1|{DAY.isoformat()}")["status"] == "present"  # type: ignore[index]
