"""The scheduler driven by a manual clock: days of schedule in milliseconds, no sleeping.

Cron fires in the job's time zone, across both DST changes; a fire time missed while no scheduler
ran is run once at start-up (from the run history); a run longer than the interval is followed by
one run, not a burst.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from support.jobs_helpers import Recorder, environment_for, write_setup

from punchbridge.errors import ConfigError
from punchbridge.jobs.clock import ManualClock
from punchbridge.jobs.lock import SchedulerLock
from punchbridge.jobs.service import INTERRUPTED_RUN, run_schedule
from punchbridge.jobs.tasks import JobOutcome
from punchbridge.store import Store

BERLIN = ZoneInfo("Europe/Berlin")
KOLKATA = ZoneInfo("Asia/Kolkata")


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _schedule(
    tmp_path: Path, store: Store, jobs: str, start: datetime, end: datetime, recorder: Recorder | None = None
) -> tuple[Recorder, list]:
    recorder = recorder or Recorder()
    config = write_setup(tmp_path, store_url=store._url, jobs=jobs)
    environment = environment_for(config, store, recorder)
    runs = run_schedule(environment, clock=ManualClock(start), lock=SchedulerLock(store), until=end)
    return recorder, runs


BERLIN_0230 = 'jobs:\n  nightly: {cron: "30 2 * * *", timezone: Europe/Berlin, run: sync}\n'


def test_a_0230_berlin_job_runs_once_on_the_night_the_clocks_go_forward(tmp_path: Path, store: Store) -> None:
    _, runs = _schedule(tmp_path, store, BERLIN_0230, _utc("2026-03-27T12:00"), _utc("2026-03-31T12:00"))
    fired = [run.scheduled_at.astimezone(UTC) for run in runs]
    # 02:30 does not exist on 2026-03-29 (02:00 CET -> 03:00 CEST): that night it runs at 03:30 CEST.
    assert fired == [
        _utc("2026-03-28T01:30"),
        _utc("2026-03-29T01:30"),
        _utc("2026-03-30T00:30"),
        _utc("2026-03-31T00:30"),
    ]
    local = [f.astimezone(BERLIN).strftime("%d %H:%M") for f in fired]
    assert local == ["28 02:30", "29 03:30", "30 02:30", "31 02:30"]
    assert {run.status for run in runs} == {"ok"}


def test_a_0230_berlin_job_runs_once_on_the_night_the_clocks_go_back(tmp_path: Path, store: Store) -> None:
    _, runs = _schedule(tmp_path, store, BERLIN_0230, _utc("2026-10-23T12:00"), _utc("2026-10-27T12:00"))
    fired = [run.scheduled_at.astimezone(UTC) for run in runs]
    # 02:30 happens twice on 2026-10-25 (CEST, then CET): the job runs at the first one only.
    assert fired == [
        _utc("2026-10-24T00:30"),
        _utc("2026-10-25T00:30"),
        _utc("2026-10-26T01:30"),
        _utc("2026-10-27T01:30"),
    ]


def test_a_job_every_half_hour_follows_real_time_through_the_repeated_hour(tmp_path: Path, store: Store) -> None:
    jobs = 'jobs:\n  often: {cron: "*/30 * * * *", timezone: Europe/Berlin, run: purge}\n'
    _, runs = _schedule(tmp_path, store, jobs, _utc("2026-10-24T23:45"), _utc("2026-10-25T02:10"))
    fired = [run.scheduled_at.astimezone(UTC) for run in runs]
    assert fired == [_utc("2026-10-25T00:00") + timedelta(minutes=30 * n) for n in range(5)]
    local = [f.astimezone(BERLIN).strftime("%H:%M%z") for f in fired]
    assert local == ["02:00+0200", "02:30+0200", "02:00+0100", "02:30+0100", "03:00+0100"]


def test_weekday_numbers_count_from_sunday_as_in_crontab(tmp_path: Path, store: Store) -> None:
    jobs = 'jobs:\n  weekly: {cron: "0 6 * * 0", timezone: Asia/Kolkata, run: purge}\n'
    _, runs = _schedule(tmp_path, store, jobs, _utc("2026-03-01T12:00"), _utc("2026-03-16T00:00"))
    assert [run.scheduled_at.astimezone(KOLKATA).strftime("%a %d %H:%M") for run in runs] == [
        "Sun 08 06:00",
        "Sun 15 06:00",
    ]


def test_a_run_missed_while_no_scheduler_ran_runs_once_at_start_up(tmp_path: Path, store: Store) -> None:
    jobs = 'jobs:\n  nightly: {cron: "30 1 * * *", timezone: Asia/Kolkata, run: sync}\n'
    # First life: runs on the night of the 3rd (01:30 IST = 20:00 UTC the day before).
    _, first = _schedule(tmp_path, store, jobs, _utc("2026-03-02T12:00"), _utc("2026-03-03T12:00"))
    assert [run.started_by for run in first] == ["schedule"]
    # Down for two nights (4th and 5th); started again at 05:00 IST on the 5th, within the 12 h grace.
    recorder, second = _schedule(tmp_path, store, jobs, _utc("2026-03-04T23:30"), _utc("2026-03-05T12:00"))
    assert [(run.started_by, run.scheduled_at.astimezone(KOLKATA).strftime("%d %H:%M")) for run in second] == [
        ("catch_up", "05 01:30")
    ]
    assert recorder.calls[0][1] == _utc("2026-03-04T23:30"), "the catch-up runs at start-up, not at the next fire"
    history = store.list_runs(job="nightly")
    assert [(run["started_by"], run["status"]) for run in history] == [("catch_up", "ok"), ("schedule", "ok")]


def test_a_missed_run_beyond_the_misfire_grace_is_skipped_and_logged(
    tmp_path: Path, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    jobs = 'jobs:\n  nightly: {cron: "30 1 * * *", timezone: Asia/Kolkata, run: sync, misfire_grace_seconds: 3600}\n'
    _schedule(tmp_path, store, jobs, _utc("2026-03-02T12:00"), _utc("2026-03-03T12:00"))
    with caplog.at_level(logging.WARNING, logger="punchbridge.jobs"):
        _, second = _schedule(tmp_path, store, jobs, _utc("2026-03-05T06:00"), _utc("2026-03-05T21:00"))
    assert [run.started_by for run in second] == ["schedule"], "only the next night's run"
    assert [run.scheduled_at for run in second] == [_utc("2026-03-05T20:00")]
    assert "job=nightly status=missed" in caplog.text and "misfire_grace_seconds=3600" in caplog.text


def test_a_job_that_never_ran_waits_for_its_first_fire_time(tmp_path: Path, store: Store) -> None:
    recorder, runs = _schedule(
        tmp_path,
        store,
        'jobs:\n  nightly: {cron: "30 1 * * *", timezone: Asia/Kolkata, run: sync}\n',
        _utc("2026-03-02T21:00"),
        _utc("2026-03-03T19:59"),
    )
    assert runs == [] and recorder.calls == []


def test_a_run_a_killed_scheduler_left_running_is_closed_and_run_again(tmp_path: Path, store: Store) -> None:
    fire = _utc("2026-03-02T20:00")
    fire_ns = int(fire.timestamp()) * 10**9
    left = store.begin_job_run(
        "nightly", "sync", started_by="schedule", scheduled_at_ns=fire_ns, now_ns=fire_ns + 10**9
    )
    store._job_run = None  # the process that began it is gone
    jobs = 'jobs:\n  nightly: {cron: "30 1 * * *", timezone: Asia/Kolkata, run: sync}\n'
    _, runs = _schedule(tmp_path, store, jobs, _utc("2026-03-02T23:00"), _utc("2026-03-03T06:00"))
    assert [(run.started_by, run.scheduled_at) for run in runs] == [("catch_up", fire)]
    abandoned = next(run for run in store.list_runs() if run["id"] == left)
    assert abandoned["status"] == "failed" and abandoned["error"] == INTERRUPTED_RUN


def test_a_run_longer_than_the_interval_is_followed_by_one_run_not_a_burst(tmp_path: Path, store: Store) -> None:
    clock = ManualClock(_utc("2026-03-02T00:00"))
    recorder = Recorder()

    def slow(name: str, context: object) -> JobOutcome:
        if len(recorder.calls) == 1:
            clock.advance(35 * 60)  # the first run takes 35 minutes: three 10-minute fire times pass
        return JobOutcome("ok")

    recorder.outcome = slow
    jobs = 'jobs:\n  often: {cron: "*/10 * * * *", timezone: UTC, run: purge}\n'
    config = write_setup(tmp_path, store_url=store._url, jobs=jobs)
    environment = environment_for(config, store, recorder)
    runs = run_schedule(environment, clock=clock, lock=SchedulerLock(store), until=_utc("2026-03-02T01:00"))
    assert [run.scheduled_at.strftime("%H:%M") for run in runs] == ["00:00", "00:30", "00:40", "00:50", "01:00"]
    assert [when.strftime("%H:%M") for _, when in recorder.calls][:2] == ["00:00", "00:35"]


def test_a_failing_job_does_not_stop_the_scheduler(tmp_path: Path, store: Store) -> None:
    recorder = Recorder(outcome=lambda name, context: (_ for _ in ()).throw(RuntimeError("boom")))
    jobs = 'jobs:\n  often: {cron: "0 * * * *", timezone: UTC, run: purge}\n'
    _, runs = _schedule(tmp_path, store, jobs, _utc("2026-03-02T00:30"), _utc("2026-03-02T03:30"), recorder)
    assert [run.status for run in runs] == ["failed"] * 3
    assert runs[0].error == "RuntimeError: boom"


def test_disabled_jobs_are_not_scheduled_and_none_enabled_is_an_error(tmp_path: Path, store: Store) -> None:
    jobs = (
        "jobs:\n"
        '  hourly: {cron: "0 * * * *", timezone: UTC, run: purge}\n'
        '  idle: {cron: "0 * * * *", timezone: UTC, run: sync, enabled: false}\n'
    )
    _, runs = _schedule(tmp_path, store, jobs, _utc("2026-03-02T00:30"), _utc("2026-03-02T02:30"))
    assert [run.job for run in runs] == ["hourly", "hourly"]
    only_off = 'jobs:\n  idle: {cron: "0 * * * *", timezone: UTC, run: sync, enabled: false}\n'
    with pytest.raises(ConfigError, match="no enabled jobs"):
        _schedule(tmp_path, store, only_off, _utc("2026-03-02T00:30"), _utc("2026-03-02T02:30"))
