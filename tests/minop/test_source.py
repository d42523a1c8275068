"""The `minop` source through the real sync engine: backfill, resume, incremental pulls, quarantine, cloud days."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import func, select
from support.minop_kit import invoke, write_config

from punchbridge.store import Store
from punchbridge.store.schema import punches as punch_table
from punchbridge.testing.emulators.minop import RAW

TODAY = datetime.now(UTC).date()
DAYS = 25
EMPLOYEES = 500
LOCAL_TIMES = ("09:00", "11:00", "11:15", "13:00", "13:30", "15:00", "15:15", "18:00")  # 8 punches a day


def month_of_punches(employees: int = EMPLOYEES, days: int = DAYS) -> list[dict]:
    """employees x days x 8 raw records, each uploaded 2 minutes after the punch (its updated_at)."""
    records = []
    first = TODAY - timedelta(days=days)
    for offset in range(days):
        day = first + timedelta(days=offset)
        for number in range(employees):
            for clock_time in LOCAL_TIMES:
                local = datetime.fromisoformat(f"{day.isoformat()}T{clock_time}:00+05:30") + timedelta(seconds=number)
                instant = local.astimezone(UTC)
                records.append(
                    {"employee_id": f"E{number:04d}", "device_id": f"dev{number % 7}", "timestamp": instant,
                     "updated_at": instant + timedelta(minutes=2)}
                )  # fmt: skip
    return records


def staff(count: int) -> list[tuple[str, str]]:
    return [(f"E{n:04d}", "blr") for n in range(count)]


def sync_range(days: int = DAYS) -> tuple[str, str]:
    return (TODAY - timedelta(days=days)).isoformat(), (TODAY - timedelta(days=1)).isoformat()


def stored(config_folder) -> tuple[int, int]:
    """(punches stored, distinct punch identities)."""
    with Store.open(f"sqlite:///{config_folder / 'store.db'}") as store:
        with store.engine.connect() as connection:
            identities = select(punch_table.c.employee_id, punch_table.c.instant_ns, punch_table.c.device_id).distinct()
            distinct = connection.execute(select(func.count()).select_from(identities.subquery())).scalar_one()
        return store.punch_count(), int(distinct)


def test_a_backfill_of_100k_punches_resumes_after_an_outage_and_stores_each_once(emulator, cloud, tmp_path):
    records = month_of_punches()
    assert len(records) == 100_000
    emulator.add_raw_punches(records)
    source = emulator.source_settings(cloud.url, page_size=1000, overlap_minutes=10)
    config = write_config(tmp_path, source, staff(EMPLOYEES), sync_range=sync_range())

    emulator.fail_after_pages(RAW, 37)  # the cloud breaks down after 37 pages
    broken = invoke("sync", "-c", config)
    assert broken.exit_code == 1, broken.output
    assert "HTTP 500" in broken.output
    assert stored(tmp_path) == (37_000, 37_000)

    emulator.heal()
    before = emulator.served("raw")
    resumed = invoke("sync", "-c", config)
    assert resumed.exit_code == 0, resumed.output
    assert emulator.served("raw") - before == 63_000  # from page 38 on, not from the start
    assert stored(tmp_path) == (100_000, 100_000)

    # Corrections in the cloud: 50 records changed, 20 uploaded late (older punches, new updated_at).
    corrected = emulator.raw.keys()[:50]
    emulator.correct_raw(corrected, source="web")
    late_day = TODAY - timedelta(days=3)
    late = [
        {"employee_id": f"E{n:04d}", "device_id": "dev-late", "timestamp": f"{late_day.isoformat()}T06:00:00Z"}
        for n in range(20)
    ]
    emulator.add_raw_punches(late)
    newest = max(r["updated_at"] for r in records)
    in_overlap = sum(r["updated_at"] >= newest - timedelta(minutes=10) for r in records)
    before = emulator.served("raw")
    incremental = invoke("sync", "-c", config)
    assert incremental.exit_code == 0, incremental.output
    assert emulator.served("raw") - before == 50 + 20 + in_overlap
    assert "20 new punch(es)" in incremental.output
    assert stored(tmp_path) == (100_020, 100_020)


def test_the_same_question_twice_costs_a_304(emulator, cloud, tmp_path):
    emulator.add_raw_punches(month_of_punches(employees=3, days=2))
    config = write_config(tmp_path, emulator.source_settings(cloud.url), staff(3), sync_range=sync_range(2))
    for _ in range(3):
        assert invoke("sync", "-c", config).exit_code == 0
    # run 2 re-reads the overlap window (one page, its ETag kept); run 3 asks the same and gets 304
    assert emulator.stats["not_modified"] == 1
    assert stored(tmp_path)[0] == 3 * 2 * 8


def test_bad_records_are_quarantined_with_their_reason_and_the_rest_is_stored(emulator, cloud, tmp_path):
    day = (TODAY - timedelta(days=2)).isoformat()
    good = {"event_id": "ev1", "employee_id": "E0000", "device_id": "d1", "timestamp": f"{day}T04:00:00Z",
            "updated_at": f"{day}T04:02:00Z"}  # fmt: skip
    page = {
        "data": [
            good,
            {**good, "event_id": "ev2", "timestamp": f"{day}T25:61:00Z"},
            {**good, "event_id": "ev3", "timestamp": f"{day}T04:00:00"},
            {**good, "event_id": "ev4", "employee_id": "E9999"},
            {**good, "event_id": "ev5", "timestamp": "1999-01-01T00:00:00Z"},
            {**good, "event_id": "ev6", "device_id": {"nested": ["x" * 5000]}},
            "not an object",
            {**good, "event_id": "ev8", "timestamp": f"{day}T05:00:00Z"},
        ],
        "next_cursor": None,
    }
    emulator.fail_next(RAW, 200, body=json.dumps(page))
    config = write_config(tmp_path, emulator.source_settings(cloud.url), staff(1), sync_range=sync_range(3))
    result = invoke("sync", "-c", config)
    assert result.exit_code == 0, result.output
    with Store.open(f"sqlite:///{tmp_path / 'store.db'}") as store:
        assert store.punch_count() == 2
        held = store.quarantine_rows()
    held = held[held["source"] == "minop"]
    reasons = dict(zip(held["detail"].str.split(":").str[0], held["reason"], strict=True))
    assert reasons == {
        "ev2": "bad_timestamp",
        "ev3": "bad_timestamp",
        "ev4": "unknown_employee",
        "ev5": "implausible_timestamp",
        "ev6": "malformed_record",
        "record 6 of the page is str": "malformed_record",
    }
    assert held["device_id"].str.len().max() <= 200  # a huge value is kept shortened


def test_a_malformed_page_stops_the_sync_and_keeps_the_pages_before_it(emulator, cloud, tmp_path):
    emulator.add_raw_punches(month_of_punches(employees=10, days=2))  # 160 records
    emulator.fail_after_pages(RAW, 1, status=200, body="<html>maintenance</html>")
    config = write_config(
        tmp_path, emulator.source_settings(cloud.url, page_size=100), staff(10), sync_range=sync_range(2)
    )
    result = invoke("sync", "-c", config)
    assert result.exit_code == 1
    assert "not JSON" in result.output and "<html>maintenance" in result.output
    assert stored(tmp_path)[0] == 100
    emulator.heal()
    assert invoke("sync", "-c", config).exit_code == 0
    assert stored(tmp_path)[0] == 160


def test_oauth_client_credentials_work_end_to_end(emulator, cloud, tmp_path):
    emulator.add_raw_punches(month_of_punches(employees=2, days=1))
    config = write_config(tmp_path, emulator.source_settings(cloud.url, oauth=True), staff(2), sync_range=sync_range(1))
    result = invoke("sync", "-c", config)
    assert result.exit_code == 0, result.output
    assert stored(tmp_path)[0] == 16
    assert emulator.stats["tokens_issued"] == 1


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({}, "give api_key, or client_id and client_secret"),
        ({"api_key": "k", "client_id": "c", "client_secret": "s"}, "not both"),
        ({"client_id": "c"}, "both client_id and client_secret"),
        ({"api_key": "k", "processing": "remote"}, "processing"),
        ({"api_key": "k", "base_url": "ftp://example.com"}, "not an http"),
        ({"api_key": "k", "page_size": 5000}, "page_size"),
        ({"api_key": "k", "sites": ["blr"]}, "only with processing: cloud"),
        ({"api_key": "k", "pagesize": 10}, "pagesize"),
    ],
)
def test_settings_problems_are_reported_with_the_source_field(tmp_path, settings, message):
    config = write_config(tmp_path, {"plugin": "minop", "base_url": "https://minop.example.com", **settings})
    result = invoke("validate", "-c", config)
    assert result.exit_code == 2
    assert "sources.minop" in result.output and message in result.output


def processed(employee: str, day: date, **values) -> dict:
    record = {
        "employee_id": employee, "date": day.isoformat(), "status": "present",
        "first_in": f"{day.isoformat()}T03:30:00Z", "last_out": f"{day.isoformat()}T12:30:00Z",
        "payable_hours": 8.5, "ot_hours": 0.5, "late_minutes": 0, "early_exit_minutes": 0, "shift": "general",
        "anomalies": [], "recomputed": False,
    }  # fmt: skip
    return record | values


def delivered(folder) -> pd.DataFrame:
    files = sorted((folder / "out").glob("*.csv"))
    return pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False) for f in files], ignore_index=True)


def test_processing_cloud_delivers_the_clouds_days_and_keeps_recomputed(emulator, cloud, tmp_path):
    day1, day2 = TODAY - timedelta(days=3), TODAY - timedelta(days=2)
    while day1.weekday() == 6 or day2.weekday() == 6:  # keep both off Sunday (the weekly off)
        day1, day2 = day1 - timedelta(days=1), day2 - timedelta(days=1)
    emulator.add_processed(
        [
            processed("E0000", day1),
            processed("E0000", day2, status="on_leave", payable_hours=0, ot_hours=0, first_in=None, last_out=None),
        ]
    )
    # A raw punch of the covered employee: stored, but the cloud's day stands.
    emulator.add_raw_punches([{"employee_id": "E0000", "device_id": "d1", "timestamp": f"{day1}T10:00:00Z"}])
    source = emulator.source_settings(cloud.url, processing="cloud", sites=["blr"])
    employees = [("E0000", "blr"), ("B0001", "ber")]
    config = write_config(tmp_path, source, employees, target=True, sync_range=(day1.isoformat(), day2.isoformat()))
    result = invoke("sync", "-c", config)
    assert result.exit_code == 0, result.output
    rows = delivered(tmp_path)
    cloud_rows = rows[rows["Employee"] == "E0000"].set_index("Date")
    assert cloud_rows.loc[day1.isoformat(), "Worked"] == "510"
    assert cloud_rows.loc[day2.isoformat(), "Status"] == "on_leave"
    assert set(rows.loc[rows["Employee"] == "B0001", "Status"]) <= {"absent", "weekly_off"}  # computed here
    with Store.open(f"sqlite:///{tmp_path / 'store.db'}") as store:
        days = store.load_days(day1, day2, ["E0000"])
        assert set(days["rules_version"]) == {"cloud:minop"}
        assert days["first_in"].iloc[0] == f"{day1.isoformat()}T09:00:00+05:30"
        assert store.punch_count() == 1

    # The cloud re-runs its rules after a late punch: the day comes back changed, flagged recomputed.
    emulator.add_processed([processed("E0000", day1, payable_hours=9.0, recomputed=True)])
    again = invoke("sync", "-c", config)
    assert again.exit_code == 0, again.output
    latest = delivered(tmp_path).iloc[-1]
    assert (latest["Employee"], latest["Worked"], latest["Recomputed"]) == ("E0000", "540", "Y")


def test_a_cloud_day_with_a_bad_value_is_quarantined_and_the_others_are_kept(emulator, cloud, tmp_path):
    day = TODAY - timedelta(days=2)
    emulator.add_processed(
        [
            processed("E0000", day),
            processed("E0001", day, payable_hours="eight"),
            processed("E0002", day, status="partying"),
            processed("E0003", day, first_in="yesterday"),
        ]
    )
    source = emulator.source_settings(cloud.url, processing="cloud")
    config = write_config(tmp_path, source, staff(4), sync_range=(day.isoformat(), day.isoformat()))
    assert invoke("sync", "-c", config).exit_code == 0
    with Store.open(f"sqlite:///{tmp_path / 'store.db'}") as store:
        days = store.load_days(day, day)
        held = store.quarantine_rows()
    assert days.set_index("employee_id").loc["E0000", "rules_version"] == "cloud:minop"
    assert set(days["employee_id"]) == {"E0000"}  # the others are covered by the cloud: no local guess
    assert sorted(held["employee_id"]) == ["E0001", "E0002", "E0003"]
    assert all(reason in ("malformed_record", "bad_timestamp") for reason in held["reason"])


def test_an_unreadable_cursor_starts_over_and_stores_nothing_twice(emulator, cloud, tmp_path):
    emulator.add_raw_punches(month_of_punches(employees=2, days=1))
    config = write_config(tmp_path, emulator.source_settings(cloud.url), staff(2), sync_range=sync_range(1))
    assert invoke("sync", "-c", config).exit_code == 0
    with Store.open(f"sqlite:///{tmp_path / 'store.db'}") as store:
        store.set_cursor("source:minop", "{not json")
    result = invoke("sync", "-c", config)
    assert result.exit_code == 0
    assert "16 already stored" in result.output
    assert stored(tmp_path) == (16, 16)


def test_quarantine_keeps_the_source_name(emulator, cloud, tmp_path):
    day = (TODAY - timedelta(days=1)).isoformat()
    emulator.add_raw_punches([{"employee_id": "STRANGER", "device_id": "d1", "timestamp": f"{day}T04:00:00Z"}])
    config = write_config(tmp_path, emulator.source_settings(cloud.url), staff(1), sync_range=sync_range(1))
    assert invoke("sync", "-c", config).exit_code == 0
    with Store.open(f"sqlite:///{tmp_path / 'store.db'}") as store:
        held = store.quarantine_rows("unknown_employee")
    assert list(held["source"]) == ["minop"] and list(held["employee_id"]) == ["STRANGER"]


def test_a_wider_range_pulls_the_new_dates_whole_and_the_old_ones_incrementally(emulator, cloud, tmp_path):
    d1, d2, d3 = (TODAY - timedelta(days=n) for n in (6, 5, 4))
    emulator.add_processed(
        [
            processed("E0000", d1, updated_at=f"{d3}T10:00:00Z"),
            processed("E0000", d2, updated_at=f"{d3}T11:00:00Z"),
            processed("E0000", d3, updated_at=f"{d3}T10:30:00Z"),  # older than the watermark after run 1
        ]
    )
    source = emulator.source_settings(cloud.url, processing="cloud", overlap_minutes=10)
    config = write_config(tmp_path, source, staff(1))
    assert invoke("sync", "-c", config, "--from", d1, "--to", d2).exit_code == 0
    assert emulator.served("processed") == 2
    result = invoke("sync", "-c", config, "--from", d1, "--to", d3)
    assert result.exit_code == 0, result.output
    assert emulator.served("processed") == 2 + 2  # d2 again (inside the overlap) and d3 (a new date)
    with Store.open(f"sqlite:///{tmp_path / 'store.db'}") as store:
        assert sorted(store.load_days(d1, d3)["work_date"]) == [d1.isoformat(), d2.isoformat(), d3.isoformat()]
