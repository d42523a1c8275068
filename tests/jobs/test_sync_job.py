"""A scheduled sync, for real: watermark-based, so a missed night heals on the next run, and each
job run is one row of the run history."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from support.jobs_helpers import EMPLOYEES, environment_for, write_setup

from punchbridge.jobs.clock import ManualClock
from punchbridge.jobs.lock import SchedulerLock
from punchbridge.jobs.service import run_schedule
from punchbridge.store import Store


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _delivered(out: Path) -> Counter[tuple[str, str]]:
    rows: Counter[tuple[str, str]] = Counter()
    for path in out.glob("*.csv"):
        with path.open(newline="") as handle:
            rows.update((row["employee"], row["date"]) for row in csv.DictReader(handle))
    return rows


def test_a_nightly_sync_delivers_the_day_just_ended_and_heals_a_missed_night(tmp_path: Path, store: Store) -> None:
    config = write_setup(tmp_path, store_url=store._url, batch_size=50)
    environment = environment_for(config, store)
    out = tmp_path / "out"

    # 01:30 IST on the 4th is 20:00 UTC on the 3rd: the run covers the days up to the 3rd (IST), the
    # day that just ended, from the first punch (the 2nd): without `sync: from:` a sync starts at the
    # earliest punch, the first sync included.
    first = run_schedule(
        environment,
        clock=ManualClock(_utc("2026-03-03T12:00")),
        lock=SchedulerLock(store),
        until=_utc("2026-03-03T21:00"),
    )
    assert [run.status for run in first] == ["ok"]
    assert sorted({day for _, day in _delivered(out)}) == ["2026-03-02", "2026-03-03"]

    # Down on the night of the 5th, restarted 16 hours after it (beyond the 12 h grace): nothing at
    # start-up, and the next night's run delivers the 4th and the 5th.
    second = run_schedule(
        environment,
        clock=ManualClock(_utc("2026-03-05T12:00")),
        lock=SchedulerLock(store),
        until=_utc("2026-03-05T21:00"),
    )
    assert [(run.started_by, run.status) for run in second] == [("schedule", "ok")]
    assert second[0].summary["delivered"] == 2 * len(EMPLOYEES)
    delivered = _delivered(out)
    assert sorted({day for _, day in delivered}) == ["2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05"]
    assert max(delivered.values()) == 1 and len(delivered) == 4 * len(EMPLOYEES)

    history = store.list_runs()
    assert [(run["job"], run["kind"], run["status"]) for run in history] == [("nightly", "sync", "ok")] * 2, (
        "one row per job run: the engine's own run record is the job's"
    )
    assert history[0]["summary"]["targets"]["payroll"]["delivered"] == 2 * len(EMPLOYEES)
    assert history[0]["summary"]["to"] == "2026-03-05"
