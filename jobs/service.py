"""`punchbridge schedule` and `punchbridge jobs run` as functions: lock, plan, run, stop cleanly.

    runs = run_schedule(environment, clock=ManualClock(start), until=end)     # tests: days in ms
    run = run_one(environment, "nightly")                                      # `jobs run nightly`

Both take the store's job lock first (`punchbridge.jobs.lock`): a second scheduler, or a `jobs run`
while a scheduler runs, refuses with the holder's host, pid and since when. Then job runs that a
dead holder left `running` are closed as failed (`interrupted`), and, for `run_schedule`, each
enabled job gets its first run time from the run history (`plan_start`): a fire time missed while
no scheduler ran is run once at start-up.

Stopping: `stop_on_signals()` turns SIGTERM and SIGINT (Ctrl-C) into a stop request. The job
running finishes its batch (`should_stop` reaches the engines), records its run as `stopped`, and
the lock is given back. A second signal stops at once, as a crash would; the ledger stays
consistent either way (a batch is recorded before it is sent and resumed by the next run).
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from punchbridge.errors import ConfigError, Problem
from punchbridge.jobs.clock import Clock, SystemClock
from punchbridge.jobs.cron import job_trigger
from punchbridge.jobs.lock import SchedulerLock, SchedulerLockLostError
from punchbridge.jobs.runlog import logfmt
from punchbridge.jobs.runner import JobEnvironment, JobRun, run_job
from punchbridge.jobs.scheduler import JobScheduler, is_catch_up, plan_start
from punchbridge.jobs.settings import JobSettings
from punchbridge.jobs.signals import stop_on_signals

__all__ = ["INTERRUPTED_RUN", "Schedule", "run_one", "run_schedule", "stop_on_signals"]

INTERRUPTED_RUN = (
    "interrupted: the process running it ended before the run did (killed or crashed); the next run sends what is left"
)
log = logging.getLogger("punchbridge.jobs")
_NS = 1_000_000_000


def _instant(ns: int) -> datetime:
    """The instant `ns` nanoseconds after the epoch (to the microsecond, without float rounding)."""
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ns // 1000)


def _lock_for(environment: JobEnvironment, lock: SchedulerLock | None) -> SchedulerLock:
    return lock if lock is not None else SchedulerLock(environment.store)


def _abandoned(environment: JobEnvironment) -> set[int]:
    left = set(environment.store.abandon_job_runs(INTERRUPTED_RUN))
    for run_id in sorted(left):
        log.warning("punchbridge %s", logfmt({"run": run_id, "status": "failed", "error": INTERRUPTED_RUN}))
    return left


def run_one(
    environment: JobEnvironment, name: str, *, lock: SchedulerLock | None = None, stop: threading.Event | None = None
) -> JobRun:
    """Run job `name` now, as the scheduler would (lock, run record, log line): `jobs run NAME`."""
    job = environment.config.jobs.get(name)
    if job is None:
        known = ", ".join(environment.config.jobs) or "none"
        raise ConfigError(
            Problem(str(environment.document.path), f"no job named {name!r}; configured: {known}", field="jobs")
        )
    stop = stop or threading.Event()
    held = _lock_for(environment, lock)
    with held:
        _abandoned(environment)
        outer = environment.should_stop
        environment.should_stop = lambda: stop.is_set() or held.lost or outer()
        try:
            return run_job(name, job, environment, started_by="manual")
        finally:
            environment.should_stop = outer


class Schedule:
    """`punchbridge schedule`: run the enabled jobs of the configuration on their schedules.

        schedule = Schedule(environment)
        with stop_on_signals(schedule.stop):
            schedule.run()

    `run` raises SchedulerBusyError when another process holds the store's job lock (a `standby`
    waits for it instead, then starts as a start-up does: interrupted runs closed, missed fire times
    run once), SchedulerLockLostError when the lock was lost while running, ConfigError when no job is enabled.
    """

    def __init__(
        self,
        environment: JobEnvironment,
        *,
        clock: Clock | None = None,
        lock: SchedulerLock | None = None,
        standby: bool = False,
    ):
        self.environment = environment
        #: wait for the lock (`SchedulerLock.stand_by`) instead of refusing while another scheduler holds it
        self.standby = standby
        self.clock = clock or SystemClock()
        self.lock = _lock_for(environment, lock)
        self.stop_event = threading.Event()
        self.scheduler: JobScheduler | None = None
        self.runs: list[JobRun] = []

    def stop(self) -> None:
        """Stop after the batch in flight (safe from a signal handler: it only sets events)."""
        self.stop_event.set()
        if self.scheduler is not None:
            self.scheduler.request_stop()

    def _stopping(self) -> bool:
        return self.stop_event.is_set() or self.lock.lost

    def run(self, *, until: datetime | None = None) -> list[JobRun]:
        """Take the lock, plan each job's first run, run the jobs until stopped (or `until` on the
        clock); give the lock back. The runs made, in order."""
        environment = self.environment
        config, document = environment.config, environment.document
        enabled = {name: job for name, job in config.jobs.items() if job.enabled}
        if not enabled:
            raise ConfigError(
                Problem(
                    str(document.path),
                    "no enabled jobs to schedule: add jobs: {NAME: {cron: ..., timezone: ..., run: sync}}",
                    field="jobs",
                )
            )
        if self.standby and not self.lock.stand_by(self.stop_event.is_set):
            return self.runs  # stopped while standing by: no job ran
        with self.lock:
            abandoned = _abandoned(environment)
            scheduler = JobScheduler(self.clock)
            outer, outer_now = environment.should_stop, environment.now
            environment.should_stop = lambda: self._stopping() or outer()
            environment.now = self.clock.now
            try:
                for name, job in enabled.items():
                    self._add(scheduler, name, job, abandoned)
                self.scheduler = scheduler
                if self.stop_event.is_set():  # a signal came while starting
                    scheduler.request_stop()
                scheduler.run(until=until, should_continue=lambda: not self._stopping())
            finally:
                environment.should_stop, environment.now = outer, outer_now
            if self.lock.lost:
                raise SchedulerLockLostError(
                    f"the scheduler stopped: it lost its lock on the store {environment.store.url_for_display} "
                    f"({self.lock.lost_reason}), so that no job runs twice"
                )
        return self.runs

    def _add(self, scheduler: JobScheduler, name: str, job: JobSettings, abandoned: set[int]) -> None:
        trigger = job_trigger(job.cron, job.timezone)
        last = self.environment.store.last_job_run(name)
        last_run = None
        if last is not None:
            # A run a dead scheduler left unfinished did not do its fire time's work: run it again.
            reference = last["started_at_ns"]
            if last["id"] in abandoned:
                reference = (last["scheduled_at_ns"] or last["started_at_ns"]) - 1000
            last_run = _instant(reference)
        now = self.clock.now()
        plan = plan_start(trigger, last_run=last_run, now=now, grace_seconds=job.misfire_grace_seconds)
        if plan.skipped is not None:
            log.warning(
                "punchbridge job=%s status=missed scheduled=%s: later than misfire_grace_seconds=%d, not run",
                name,
                plan.skipped.isoformat(),
                job.misfire_grace_seconds,
            )
        scheduler.add_job(
            partial(_fire, self.runs, self.environment, scheduler, name),
            trigger=trigger,
            id=name,
            name=name,
            next_run_time=plan.next_run_time,
            misfire_grace_time=job.misfire_grace_seconds,
            coalesce=True,
            max_instances=1,
        )
        following = plan.next_run_time
        log.info(
            "punchbridge job=%s run=%s cron=%r timezone=%s next=%s%s",
            name,
            job.run,
            job.cron,
            job.timezone,
            None if following is None else following.astimezone(trigger.timezone).isoformat(),
            " (missed while stopped: runs now)" if plan.catch_up is not None else "",
        )


def run_schedule(
    environment: JobEnvironment,
    *,
    clock: Clock | None = None,
    lock: SchedulerLock | None = None,
    until: datetime | None = None,
) -> list[JobRun]:
    """`Schedule(environment, clock=clock, lock=lock).run(until=until)`."""
    return Schedule(environment, clock=clock, lock=lock).run(until=until)


def _fire(
    runs: list[JobRun],
    environment: JobEnvironment,
    scheduler: JobScheduler,
    name: str,
    *,
    scheduled_at: datetime | None = None,
) -> Any:
    job = environment.config.jobs[name]
    started_by = "catch_up" if is_catch_up(scheduler, scheduled_at) else "schedule"
    result = run_job(name, job, environment, started_by=started_by, scheduled_at=scheduled_at)
    runs.append(result)
    return result
